/** Precise (KV-event-fed) routing: ZMQ subscribers per engine, the block index, and the strategy. */
export {
  type BlockHashScheme,
  blockKeys,
  type ChainHash,
  engineSimBlockHashScheme,
} from "./block-hash-scheme.js";
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
export { createPromptRenderer, PROMPT_TEMPLATES, type PromptTemplate } from "./engine-prompt.js";
export { createHfTokenize, HfTokenizer } from "./hf-tokenizer.js";
export { type KvEventsEndpoint, KvEventsPool } from "./pool.js";
export { createPrecise, type PreciseDeps, preciseScorer } from "./precise.js";
export {
  type BlockVisitor,
  PromptBlockHasher,
  type PromptBlockHasherOptions,
  type WalkResult,
} from "./prompt-block-hasher.js";
export { PromptHashers } from "./prompt-hashers.js";
export { createSimTokenize, renderSimChatPrompt, type SimTokenizeOptions } from "./sim-tokenizer.js";
export {
  KvEventSubscriber,
  type KvEventSubscriberOptions,
  type KvEventSubscriberStats,
} from "./subscriber.js";
export type { Tokenize, TokenSpans } from "./tokenize.js";
export { type VllmHashAlgorithm, vllmBlockHashScheme, vllmHashAlgorithms } from "./vllm-block-hash.js";
