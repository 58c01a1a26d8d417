/** Precise (KV-event-fed) routing: ZMQ subscribers per engine, the block index, and the strategy. */
export { BlockIndex } from "./block-index.js";
export {
  type KvEventsEndpointConfig,
  type KvEventsRouterConfig,
  kvEventsEndpointSchema,
  kvEventsRouterSchema,
  type PreciseParams,
  preciseParamsSchema,
} from "./config.js";
export { type DecodedBatch, type DecodedKvEvent, decodeEventBatch, normalizeBlockHash } from "./decode.js";
export { type KvEventsEndpoint, KvEventsPool } from "./pool.js";
export { createPrecise, type PreciseDeps, precisePlugin, preciseScorer } from "./precise.js";
export {
  type BlockVisitor,
  PromptBlockHasher,
  type PromptBlockHasherOptions,
  type WalkResult,
} from "./prompt-block-hasher.js";
export {
  createSimTokenize,
  renderSimChatPrompt,
  type SimTokenizeOptions,
  type Tokenize,
  type TokenSpans,
} from "./sim-tokenizer.js";
export {
  KvEventSubscriber,
  type KvEventSubscriberOptions,
  type KvEventSubscriberStats,
} from "./subscriber.js";
