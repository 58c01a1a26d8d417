/** Precise (KV-event-fed) routing: ZMQ subscribers per engine, the block index, and the strategy. */
export { BlockIndex } from "./block-index.js";
export {
  type KvEventsEndpointConfig,
  kvEventsEndpointSchema,
  type PreciseParams,
  preciseParamsSchema,
} from "./config.js";
export { type DecodedBatch, type DecodedKvEvent, decodeEventBatch, normalizeBlockHash } from "./decode.js";
export { type KvEventsEndpoint, KvEventsPool } from "./pool.js";
export { createPrecise, type PreciseDeps, precisePlugin, preciseScorer } from "./precise.js";
export {
  createSimTokenize,
  renderSimChatPrompt,
  type SimTokenizeOptions,
  type Tokenize,
} from "./sim-tokenizer.js";
export {
  KvEventSubscriber,
  type KvEventSubscriberOptions,
  type KvEventSubscriberStats,
} from "./subscriber.js";
