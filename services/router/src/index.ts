/** Moved to @strata/kit (the operator reads engine metrics too); kept here for existing importers. */
export { type MetricSample, parseMetricsText } from "@strata/kit";
export { type Clock, systemClock } from "./clock.js";
export {
  type EndpointConfig,
  endpointConfigSchema,
  type RouterConfig,
  type RouterConfigInput,
  type RoutingConfig,
  routerConfigSchema,
  routerEnvMapping,
} from "./config.js";
export { loadRouterConfig, parseRouterConfig, routerSettingsFromEnv } from "./config-source.js";
export {
  BlockIndex,
  createPrecise,
  createSimTokenize,
  KvEventSubscriber,
  KvEventsPool,
  type PreciseDeps,
  PromptBlockHasher,
  preciseScorer,
  type Tokenize,
} from "./kv-events/index.js";
export { PrefixIndex } from "./prefix/prefix-index.js";
export { type PrefixParams, PrefixTracker, prefixParamsSchema } from "./prefix/prefix-tracker.js";
export { type RunDeps, type RunningRouter, run } from "./run.js";
export { type Candidate, type CandidateInit, createCandidate } from "./scoring/candidate.js";
export {
  composeStrategy,
  type Filter,
  maxScorePicker,
  type Picker,
  type PipelineSpec,
  type Scorer,
  type WeightedScorer,
} from "./scoring/pipeline.js";
export type {
  DecisionExplanation,
  RoutingOutcome,
  RoutingReport,
  RoutingRequest,
  Strategy,
  StrategyDecision,
  StrategyDeps,
  StrategyPlugin,
} from "./scoring/strategy.js";
export { createStrategy, inTreeStrategies } from "./scoring/strategy-registry.js";
export { StrategySelector, type StrategySource, singleStrategy } from "./scoring/strategy-selector.js";
export {
  createSyncMetrics,
  defaultReplicaId,
  RouterSync,
  type RouterSyncOptions,
  routerSyncTarget,
  type SyncMetrics,
  type SyncTarget,
} from "./sync/index.js";
