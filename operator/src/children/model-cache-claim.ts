import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { engines } from "../engines/engines.js";
import type { KubeObject } from "../kube/kube-object.js";
import { childLabels } from "../model-deployment/labels.js";
import { engineKindOf, type ModelDeployment } from "../model-deployment/types.js";
import { modelCacheClaimName } from "./volumes.js";

export type PersistentVolumeClaim = V1PersistentVolumeClaim & KubeObject;

/** The claim is deleted with its ModelDeployment only under this policy (by the operator's finalizer). */
export function cacheReclaimPolicy(md: ModelDeployment): "Retain" | "Delete" {
  return md.spec.cache?.reclaimPolicy ?? "Retain";
}

/**
 * The weights cache the operator creates from spec.cache.size. It deliberately has no owner reference:
 * garbage collection would delete hundreds of gigabytes of downloaded weights with the ModelDeployment
 * whatever reclaimPolicy says. Under Retain it outlives the resource (a ModelDeployment created again
 * with the same name picks it up again); under Delete the operator's finalizer deletes it.
 */
export function desiredModelCacheClaim(md: ModelDeployment): PersistentVolumeClaim | undefined {
  const cache = md.spec.cache;
  if (!cache || cache.size === undefined || cache.existingClaim) return undefined;
  // engine-sim downloads nothing: no claim to pay for.
  if (!engines[engineKindOf(md)].usesHub) return undefined;
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: modelCacheClaimName(md),
      namespace: md.metadata.namespace,
      labels: childLabels(md),
    },
    spec: {
      accessModes: [cache.accessMode ?? "ReadWriteOnce"],
      resources: { requests: { storage: String(cache.size) } },
      storageClassName: cache.storageClassName,
    },
  };
}
