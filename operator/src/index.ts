export { demandAnnotation } from "./autoscaling/demand.js";
export type { LoadSample, LoadSource } from "./autoscaling/load-source.js";
export {
  loadOperatorConfig,
  type OperatorConfig,
  type OperatorConfigInput,
  operatorConfigSchema,
} from "./config.js";
export { crdManifestPath } from "./crd/crd-manifest.js";
export { KubeClient } from "./kube/kube-client.js";
export type { KubeObject } from "./kube/kube-object.js";
export { resourceTypes } from "./kube/resource-types.js";
export { modelDeploymentCrd } from "./model-deployment/crd.js";
export { childLabels, labelKeys, selectorLabels } from "./model-deployment/labels.js";
export type {
  ModelDeployment,
  ModelDeploymentSpec,
  ModelDeploymentStatus,
} from "./model-deployment/types.js";
export { type RunDeps, type RunningOperator, run } from "./run.js";
