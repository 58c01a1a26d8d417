import type { V1Toleration } from "@kubernetes/client-node";
import type { Engine } from "../engines/engine.js";
import type { ModelDeployment } from "../model-deployment/types.js";

/** Node labels naming the GPU model, as the vendors' feature-discovery daemons set them. */
const gpuProductLabels: Record<string, string> = {
  "nvidia.com/gpu": "nvidia.com/gpu.product",
  "amd.com/gpu": "amd.com/gpu.product-name",
};

/** spec.nodeSelector plus the GPU model label when resources.gpu.type is set (the user's keys win). */
export function nodeSelector(md: ModelDeployment, engine: Engine): Record<string, string> | undefined {
  const gpu = md.spec.resources?.gpu;
  const selector: Record<string, string> = {};
  if (engine.usesGpus && gpu?.type) {
    const resource = gpu.resourceName ?? "nvidia.com/gpu";
    selector[gpuProductLabels[resource] ?? `${resource}.product`] = gpu.type;
  }
  Object.assign(selector, md.spec.nodeSelector ?? {});
  return Object.keys(selector).length > 0 ? selector : undefined;
}

/**
 * spec.tolerations plus one for the GPU resource's own taint: GPU node pools are commonly tainted with it
 * (`nvidia.com/gpu:NoSchedule`) so that only pods asking for GPUs land there.
 */
export function tolerations(md: ModelDeployment, engine: Engine): V1Toleration[] | undefined {
  const list = [...((md.spec.tolerations ?? []) as V1Toleration[])];
  const gpu = md.spec.resources?.gpu;
  if (engine.usesGpus && (gpu?.count ?? 1) > 0) {
    const key = gpu?.resourceName ?? "nvidia.com/gpu";
    if (!list.some((toleration) => toleration.key === key)) {
      list.push({ key, operator: "Exists", effect: "NoSchedule" });
    }
  }
  return list.length > 0 ? list : undefined;
}
