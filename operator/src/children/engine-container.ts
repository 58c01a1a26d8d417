import type { V1Container, V1EnvVar, V1ResourceRequirements } from "@kubernetes/client-node";
import { type Engine, enginePort, modelCacheMountPath } from "../engines/engine.js";
import type { EnvVar, ModelDeployment } from "../model-deployment/types.js";
import type { ChildOptions } from "./child-options.js";
import { engineProbes } from "./probes.js";
import { engineVolumes } from "./volumes.js";

/** The engine container: command line, environment, port, resources, mounts and probes. */
export function engineContainer(md: ModelDeployment, engine: Engine, options: ChildOptions): V1Container {
  const invocation = engine.invocation(md);
  return {
    name: "engine",
    image: md.spec.engine?.image ?? options.images[engine.kind],
    command: invocation.command,
    args: invocation.args,
    env: mergeEnv([...hubEnv(md, engine), ...invocation.env], md.spec.engine?.env ?? []) as V1EnvVar[],
    ports: [{ name: "http", containerPort: enginePort, protocol: "TCP" }],
    resources: engineResources(md, engine),
    volumeMounts: engineVolumes(md, engine).mounts,
    ...engineProbes(md, engine),
  };
}

/** HF_HOME on the cache volume, and the hub token under both names engines and hub libraries read. */
function hubEnv(md: ModelDeployment, engine: Engine): EnvVar[] {
  if (!engine.usesHub) return [];
  const env: EnvVar[] = [{ name: "HF_HOME", value: modelCacheMountPath }];
  const secret = md.spec.hubTokenSecretRef;
  if (secret) {
    const valueFrom = { secretKeyRef: { name: secret.name, key: secret.key ?? "token" } };
    env.push({ name: "HF_TOKEN", valueFrom }, { name: "HUGGING_FACE_HUB_TOKEN", valueFrom });
  }
  return env;
}

/** The user's variables win over the operator's by name (env is a map keyed by name under apply). */
function mergeEnv(base: EnvVar[], overrides: EnvVar[]): EnvVar[] {
  const names = new Set(overrides.map((variable) => variable.name));
  return [...base.filter((variable) => !names.has(variable.name)), ...overrides];
}

/**
 * GPUs as a limit (extended resources take requests from limits); memory requested and limited alike so
 * the engine is not the first evicted under pressure; CPU only requested, since a CPU limit throttles the
 * tokenizer and scheduler threads in bursts and buys nothing on a dedicated GPU node.
 */
function engineResources(md: ModelDeployment, engine: Engine): V1ResourceRequirements {
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  const gpu = md.spec.resources?.gpu;
  const gpus = gpu?.count ?? 1;
  if (engine.usesGpus && gpus > 0) limits[gpu?.resourceName ?? "nvidia.com/gpu"] = String(gpus);
  const { cpu, memory } = md.spec.resources ?? {};
  if (cpu !== undefined) requests.cpu = String(cpu);
  if (memory !== undefined) {
    requests.memory = String(memory);
    limits.memory = String(memory);
  }
  const resources: V1ResourceRequirements = {};
  if (Object.keys(limits).length > 0) resources.limits = limits;
  if (Object.keys(requests).length > 0) resources.requests = requests;
  return resources;
}
