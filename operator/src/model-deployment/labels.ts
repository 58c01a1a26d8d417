import { createHash } from "node:crypto";
import type { KubeObject, OwnerReference } from "../kube/kube-object.js";
import { resourceTypes } from "../kube/resource-types.js";
import { type EngineKind, engineKindOf, type ModelDeployment } from "./types.js";

export const managedBy = "strata-operator";

export const labelKeys = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  component: "app.kubernetes.io/component",
  partOf: "app.kubernetes.io/part-of",
  managedBy: "app.kubernetes.io/managed-by",
  modelDeployment: "strata.dev/model-deployment",
  model: "strata.dev/model",
  engine: "strata.dev/engine",
} as const;

/** The served model name exactly; the `strata.dev/model` label holds a label-safe form of it. */
export const modelNameAnnotation = "strata.dev/model-name";

const appNames: Record<EngineKind, string> = {
  vllm: "vllm",
  tgi: "text-generation-inference",
  sim: "engine-sim",
};

/** Labels on every object the operator creates for a ModelDeployment; the router selects on them. */
export function childLabels(md: ModelDeployment): Record<string, string> {
  const engine = engineKindOf(md);
  return {
    [labelKeys.name]: appNames[engine],
    [labelKeys.instance]: md.metadata.name,
    [labelKeys.component]: "engine",
    [labelKeys.partOf]: "strata",
    [labelKeys.managedBy]: managedBy,
    [labelKeys.modelDeployment]: md.metadata.name,
    [labelKeys.model]: labelValue(md.spec.model.name),
    [labelKeys.engine]: engine,
  };
}

/**
 * The engine pods' selector. Kept to what never changes for a ModelDeployment (a Deployment's selector
 * is immutable), so spec edits can never leave the operator unable to update its Deployment.
 */
export function selectorLabels(md: ModelDeployment): Record<string, string> {
  return { [labelKeys.managedBy]: managedBy, [labelKeys.modelDeployment]: md.metadata.name };
}

/** Whether an object carries a ModelDeployment's selector labels: the operator made it for that one. */
export function hasSelectorLabels(object: Pick<KubeObject, "metadata">, md: ModelDeployment): boolean {
  const labels = object.metadata.labels ?? {};
  return labels[labelKeys.managedBy] === managedBy && labels[labelKeys.modelDeployment] === md.metadata.name;
}

export function selectorString(md: ModelDeployment): string {
  return Object.entries(selectorLabels(md))
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
}

/** Selects everything the operator manages; informers watch only these objects. */
export const managedSelector = `${labelKeys.managedBy}=${managedBy}`;

/**
 * Model names may hold `/` and `:` and run to 128 characters; label values may not. Invalid characters
 * become `.`, and an over-long value keeps its head plus a short hash so two names cannot collide.
 */
export function labelValue(value: string): string {
  let safe = value.replace(/[^A-Za-z0-9._-]/g, ".");
  if (safe.length > 63) {
    const hash = createHash("sha256").update(value).digest("hex").slice(0, 8);
    safe = `${safe.slice(0, 54)}.${hash}`;
  }
  return safe.replace(/^[^A-Za-z0-9]+/, "").replace(/[^A-Za-z0-9]+$/, "");
}

/** Makes the ModelDeployment the controlling owner: garbage collection deletes the child with it. */
export function ownerReference(md: ModelDeployment): OwnerReference {
  return {
    apiVersion: resourceTypes.modelDeployment.apiVersion,
    kind: resourceTypes.modelDeployment.kind,
    name: md.metadata.name,
    uid: md.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}
