import { engines } from "../engines/engines.js";
import type { KubeObject } from "../kube/kube-object.js";
import { childLabels, ownerReference, selectorLabels } from "../model-deployment/labels.js";
import { engineKindOf, type ModelDeployment } from "../model-deployment/types.js";

export interface ServiceMonitor extends KubeObject {
  spec: Record<string, unknown>;
}

/** Prometheus Operator scrape config for the engine's /metrics, through the Service's `http` port. */
export function desiredServiceMonitor(md: ModelDeployment): ServiceMonitor {
  const engine = engines[engineKindOf(md)];
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: {
      name: md.metadata.name,
      namespace: md.metadata.namespace,
      labels: childLabels(md),
      ownerReferences: [ownerReference(md)],
    },
    spec: {
      selector: { matchLabels: selectorLabels(md) },
      endpoints: [{ port: "http", path: engine.metricsPath, interval: "15s" }],
    },
  };
}
