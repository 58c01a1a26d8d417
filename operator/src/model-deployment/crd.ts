import { resourceTypes } from "../kube/resource-types.js";
import { modelDeploymentSchema } from "./crd-schema.js";

const { apiVersion, kind, plural } = resourceTypes.modelDeployment;
const [group, version] = apiVersion.split("/") as [string, string];

/**
 * The ModelDeployment CustomResourceDefinition as the API server takes it: names, the one served version
 * with its schema, the status and scale subresources (so an HPA or KEDA can drive spec.replicas too)
 * and the columns of `kubectl get md`.
 */
export const modelDeploymentCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: "Namespaced",
    names: {
      kind,
      listKind: `${kind}List`,
      plural,
      singular: kind.toLowerCase(),
      shortNames: ["md"],
      categories: ["strata"],
    },
    versions: [
      {
        name: version,
        served: true,
        storage: true,
        subresources: {
          status: {},
          scale: {
            specReplicasPath: ".spec.replicas",
            statusReplicasPath: ".status.replicas",
            labelSelectorPath: ".status.selector",
          },
        },
        additionalPrinterColumns: [
          { name: "Model", type: "string", jsonPath: ".spec.model.name" },
          { name: "Engine", type: "string", jsonPath: ".spec.engine.kind" },
          { name: "Ready", type: "string", jsonPath: ".status.readyText" },
          {
            name: "Available",
            type: "string",
            jsonPath: '.status.conditions[?(@.type=="Available")].status',
          },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
        ],
        schema: { openAPIV3Schema: modelDeploymentSchema },
      },
    ],
  },
};
