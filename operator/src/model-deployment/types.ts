import type { TypeOf } from "../crd/schema-builder.js";
import type { KubeObject } from "../kube/kube-object.js";
import type {
  autoscalingSchema,
  conditionSchema,
  endpointStatusSchema,
  engineKindSchema,
  envVarSchema,
  modelDeploymentSpecSchema,
  modelDeploymentStatusSchema,
} from "./crd-schema.js";

/**
 * ModelDeployment as stored (strata.dev/v1alpha1), typed from the schema the CRD is generated from
 * (crd-schema.ts), so the operator cannot read a field the API server does not keep. The API server
 * applies the schema's defaults before anything reads an object, but the reconciler still defaults
 * defensively: an object written before a default existed reads back without it.
 */
export type EngineKind = TypeOf<typeof engineKindSchema>;
export type EnvVar = TypeOf<typeof envVarSchema>;
export type ModelDeploymentSpec = TypeOf<typeof modelDeploymentSpecSchema>;
export type AutoscalingSpec = TypeOf<typeof autoscalingSchema>;
export type Condition = TypeOf<typeof conditionSchema>;
export type EndpointStatus = TypeOf<typeof endpointStatusSchema>;
export type ModelDeploymentStatus = TypeOf<typeof modelDeploymentStatusSchema>;

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
