import type { Logger } from "@strata/kit";
import { cacheReclaimPolicy, desiredModelCacheClaim } from "../children/model-cache-claim.js";
import { modelCacheClaimName } from "../children/volumes.js";
import type { EventSink } from "../kube/event-recorder.js";
import type { KubeClient } from "../kube/kube-client.js";
import type { KubeObject } from "../kube/kube-object.js";
import { resourceTypes } from "../kube/resource-types.js";
import { hasSelectorLabels } from "../model-deployment/labels.js";
import type { ModelDeployment } from "../model-deployment/types.js";

/**
 * Held while the operator owes a cleanup that owner references cannot do: deleting the weights cache
 * claim it created under reclaimPolicy Delete (the claim has no owner reference; see model-cache-claim.ts).
 * Everything else the operator creates is owned and garbage-collected with the ModelDeployment.
 */
export const modelCacheFinalizer = "strata.dev/model-cache";

export function needsFinalizer(md: ModelDeployment): boolean {
  return desiredModelCacheClaim(md) !== undefined && cacheReclaimPolicy(md) === "Delete";
}

type Client = Pick<KubeClient, "get" | "delete" | "mergePatch">;

/** Adds or removes the finalizer to match the spec. The write is conditional on the resourceVersion read. */
export async function syncFinalizer(client: Client, md: ModelDeployment): Promise<ModelDeployment> {
  const finalizers = md.metadata.finalizers ?? [];
  const has = finalizers.includes(modelCacheFinalizer);
  const needs = needsFinalizer(md);
  if (has === needs) return md;
  const next = needs
    ? [...finalizers, modelCacheFinalizer]
    : finalizers.filter((f) => f !== modelCacheFinalizer);
  return setFinalizers(client, md, next);
}

/** Runs the cleanup of a ModelDeployment being deleted, then lets it go. */
export async function finalize(
  client: Client,
  events: EventSink,
  logger: Logger,
  md: ModelDeployment,
): Promise<void> {
  const finalizers = md.metadata.finalizers ?? [];
  if (!finalizers.includes(modelCacheFinalizer)) return;
  const namespace = md.metadata.namespace ?? "";
  const claimName = modelCacheClaimName(md);
  const claim = await client.get<KubeObject>(resourceTypes.persistentVolumeClaim, namespace, claimName);
  if (claim && hasSelectorLabels(claim, md) && !claim.metadata.deletionTimestamp) {
    await client.delete(resourceTypes.persistentVolumeClaim, namespace, claimName, claim.metadata.uid);
    logger.info({ key: `${namespace}/${md.metadata.name}`, claim: claimName }, "deleted model cache claim");
    await events.record(
      md,
      "Normal",
      "ModelCacheDeleted",
      `deleted PersistentVolumeClaim ${claimName} (reclaimPolicy Delete)`,
    );
  }
  await setFinalizers(
    client,
    md,
    finalizers.filter((f) => f !== modelCacheFinalizer),
  );
}

function setFinalizers(client: Client, md: ModelDeployment, finalizers: string[]): Promise<ModelDeployment> {
  // A merge patch replaces the whole list; the resourceVersion makes it fail (409, then a retry) rather
  // than drop a finalizer someone else added since the read.
  return client.mergePatch<ModelDeployment>(
    resourceTypes.modelDeployment,
    md.metadata.namespace ?? "",
    md.metadata.name,
    { metadata: { resourceVersion: md.metadata.resourceVersion, finalizers } },
  );
}
