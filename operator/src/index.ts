export {
  loadOperatorConfig,
  type OperatorConfig,
  type OperatorConfigInput,
  operatorConfigSchema,
} from "./config.js";
export { childLabels, labelKeys, selectorLabels } from "./model-deployment/labels.js";
export type {
  ModelDeployment,
  ModelDeploymentSpec,
  ModelDeploymentStatus,
} from "./model-deployment/types.js";
export { type RunDeps, type RunningOperator, run } from "./run.js";
