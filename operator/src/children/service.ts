import type { V1Service } from "@kubernetes/client-node";
import { enginePort } from "../engines/engine.js";
import type { KubeObject } from "../kube/kube-object.js";
import {
  childLabels,
  modelNameAnnotation,
  ownerReference,
  selectorLabels,
} from "../model-deployment/labels.js";
import type { ModelDeployment } from "../model-deployment/types.js";

export type Service = V1Service & KubeObject;

/**
 * A ClusterIP Service over the engine pods, port `http`. Its EndpointSlices carry its labels, which is
 * how the router and the operator's status find each model's ready endpoints.
 */
export function desiredService(md: ModelDeployment): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: md.metadata.name,
      namespace: md.metadata.namespace,
      labels: childLabels(md),
      annotations: { [modelNameAnnotation]: md.spec.model.name },
      ownerReferences: [ownerReference(md)],
    },
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(md),
      ports: [{ name: "http", port: enginePort, targetPort: "http", protocol: "TCP", appProtocol: "http" }],
    },
  };
}
