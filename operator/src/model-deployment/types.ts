import type { KubeObject } from "../kube/kube-object.js";

/**
 * ModelDeployment as stored (strata.dev/v1alpha1), mirroring operator/crd/modeldeployment.yaml. The API
 * server applies the schema's defaults before anything reads an object, but the reconciler still
 * defaults defensively: an object written before a default existed reads back without it.
 */
export type EngineKind = "vllm" | "tgi" | "sim";

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface ModelDeploymentSpec {
  model: { name: string; source: string; revision?: string; tokenizer?: string };
  engine?: {
    kind?: EngineKind;
    image?: string;
    args?: string[];
    env?: EnvVar[];
    startupTimeoutSeconds?: number;
  };
  serving?: {
    maxModelLen?: number;
    gpuMemoryUtilization?: number;
    prefixCaching?: boolean;
    quantization?: string;
    dtype?: string;
    tensorParallelSize?: number;
  };
  adapters?: Array<{ name: string; source: string }>;
  resources?: {
    gpu?: { count?: number; resourceName?: string; type?: string };
    cpu?: string | number;
    memory?: string | number;
  };
  nodeSelector?: Record<string, string>;
  tolerations?: Array<Record<string, unknown>>;
  affinity?: Record<string, unknown>;
  cache?: {
    existingClaim?: string;
    storageClassName?: string;
    size?: string | number;
    accessMode?: string;
    reclaimPolicy?: "Retain" | "Delete";
  };
  hubTokenSecretRef?: { name: string; key?: string };
  replicas?: number;
  autoscaling?: { minReplicas?: number; maxReplicas: number; scaleToZero?: boolean };
  routing?: Record<string, unknown>;
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export interface EndpointStatus {
  name: string;
  url: string;
  ready: boolean;
}

export interface ModelDeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  readyText?: string;
  selector?: string;
  endpoints?: EndpointStatus[];
  conditions?: Condition[];
}

export interface ModelDeployment extends KubeObject {
  spec: ModelDeploymentSpec;
  status?: ModelDeploymentStatus;
}

export function engineKindOf(md: ModelDeployment): EngineKind {
  return md.spec.engine?.kind ?? "vllm";
}

/**
 * The one place desired replicas are decided: spec.replicas (which the scale subresource, an HPA or the
 * autoscaler writes), else the autoscaling floor, else 1.
 */
export function desiredReplicas(md: ModelDeployment): number {
  if (md.spec.replicas !== undefined) return md.spec.replicas;
  if (md.spec.autoscaling) return md.spec.autoscaling.minReplicas ?? 1;
  return 1;
}
