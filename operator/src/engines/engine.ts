import type { EngineKind, EnvVar, ModelDeployment } from "../model-deployment/types.js";

/** Every engine listens here inside its pod; the Service's `http` port points at it. */
export const enginePort = 8000;

/** Where the model cache volume is mounted; HF_HOME points at it so downloads survive restarts. */
export const modelCacheMountPath = "/models";

export interface EngineInvocation {
  command: string[];
  args: string[];
  env: EnvVar[];
}

/** What differs between vLLM, TGI and engine-sim: the command line, health and metrics paths. */
export interface Engine {
  kind: EngineKind;
  /** Whether the engine downloads from the hub (cache volume, HF_HOME and the token make sense). */
  usesHub: boolean;
  /** Whether the pod asks for GPUs; engine-sim never does. */
  usesGpus: boolean;
  healthPath: string;
  metricsPath: string;
  /** The gauges of requests being generated and waiting for a slot, which the autoscaler reads. */
  loadGauges: { running: string; waiting: string };
  /** Start-up budget when the spec gives none: long enough to download and load large weights. */
  defaultStartupSeconds: number;
  invocation(md: ModelDeployment): EngineInvocation;
}

export function flag(name: string, value: string | number | undefined): string[] {
  return value === undefined ? [] : [name, String(value)];
}
