import type { V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { Engine } from "../engines/engine.js";
import { modelCacheMountPath } from "../engines/engine.js";
import { pvcMountRoot, sourceClaims } from "../model-deployment/sources.js";
import type { ModelDeployment } from "../model-deployment/types.js";

/** Name of the claim the operator creates from spec.cache.size. */
export function modelCacheClaimName(md: ModelDeployment): string {
  return `${md.metadata.name}-model-cache`;
}

/** The claim backing /models, if any: an existing one, or the one the operator creates. */
export function modelCacheClaim(md: ModelDeployment): string | undefined {
  if (md.spec.cache?.existingClaim) return md.spec.cache.existingClaim;
  if (md.spec.cache?.size !== undefined) return modelCacheClaimName(md);
  return undefined;
}

/**
 * The pod's volumes and the engine's mounts:
 * - /dev/shm as a memory-backed emptyDir: NCCL and PyTorch workers exchange tensors through shared memory
 *   and the container runtime's default of 64 MiB makes tensor-parallel engines crash;
 * - /models, the weights cache (a claim, or an emptyDir so HF_HOME is always writable);
 * - each pvc:// source claim read-only under /mnt/pvc/<claim>.
 */
export function engineVolumes(
  md: ModelDeployment,
  engine: Engine,
): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  if (engine.usesGpus) {
    volumes.push({ name: "dshm", emptyDir: { medium: "Memory" } });
    mounts.push({ name: "dshm", mountPath: "/dev/shm" });
  }
  if (engine.usesHub) {
    const claim = modelCacheClaim(md);
    volumes.push(
      claim
        ? { name: "model-cache", persistentVolumeClaim: { claimName: claim } }
        : { name: "model-cache", emptyDir: {} },
    );
    mounts.push({ name: "model-cache", mountPath: modelCacheMountPath });
  }
  sourceClaims(md).forEach((claim, index) => {
    const name = `source-${index}`;
    volumes.push({ name, persistentVolumeClaim: { claimName: claim, readOnly: true } });
    mounts.push({ name, mountPath: `${pvcMountRoot}/${claim}`, readOnly: true });
  });
  return { volumes, mounts };
}
