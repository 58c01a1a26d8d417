/** Model routing: aliases, tiers and routes (rules, classifiers) resolving a client's model name. */
export type { CompiledRouting, CompiledTier } from "./compile-routing.js";
export { FeatureExtractor, featureBits, type SparseVector } from "./hashed-features.js";
export {
  type LabelledText,
  LinearClassifier,
  type LinearTrainingOptions,
  mulberry32,
  type Prediction,
} from "./linear-classifier.js";
export { type LlmClassifier, OpenAiLlmClassifier, parseAnswer } from "./llm-classifier.js";
export {
  type ModelResolution,
  ModelRouter,
  type ModelRouterDeps,
  type ModelRouterOptions,
  modelNotFound,
  type ReloadResult,
} from "./model-router.js";
export {
  type ClassifierConfig,
  classifierConfigSchema,
  type LlmClassifierConfig,
  llmClassifierConfigSchema,
  type ModelRoutingConfig,
  type ModelRoutingConfigInput,
  type ModelRuleConfig,
  modelRoutingConfigSchema,
  modelRuleSchema,
  type RouteConfig,
  routeConfigSchema,
  tierConfigSchema,
} from "./model-routing-config.js";
export { type ModelRoutingDeps, type ModelRoutingSource, startModelRouting } from "./models-file.js";
export { classificationText, estimatedPromptTokens, type ModelRequest } from "./route-rules.js";
export { defaultTrainingFile, loadTrainingFile, parseTrainingData } from "./training-data.js";
export { type ConfigWatch, type WatchConfigOptions, watchConfigFile } from "./watch-config.js";
