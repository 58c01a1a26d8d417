import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import type { KubeObject } from "../kube/kube-object.js";
import { childLabels, ownerReference, selectorLabels } from "../model-deployment/labels.js";
import { desiredReplicas, type ModelDeployment } from "../model-deployment/types.js";

export type PodDisruptionBudget = V1PodDisruptionBudget & KubeObject;

/**
 * Voluntary disruptions (node drains, upgrades) take at most one engine at a time. A single replica gets
 * maxUnavailable 1, since minAvailable 1 would block every drain forever; more replicas keep all but one
 * available. Pods that are not running healthy may always be evicted, so a crash-looping engine never
 * holds up a drain.
 */
export function desiredPodDisruptionBudget(md: ModelDeployment): PodDisruptionBudget {
  const replicas = desiredReplicas(md);
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: {
      name: md.metadata.name,
      namespace: md.metadata.namespace,
      labels: childLabels(md),
      ownerReferences: [ownerReference(md)],
    },
    spec: {
      selector: { matchLabels: selectorLabels(md) },
      ...(replicas > 1 ? { minAvailable: replicas - 1 } : { maxUnavailable: 1 }),
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  };
}
