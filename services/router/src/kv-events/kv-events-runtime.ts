/**
 * Everything precise routing needs, built once per router from its `kvEvents` section: the block
 * index the engines' events fill, the subscriptions that fill it (one per endpoint with `kvEvents`),
 * and the prompt block hasher every model's `precise` strategy shares.
 */
import type { Logger } from "@strata/kit";
import { BlockIndex } from "./block-index.js";
import type { KvEventsRouterConfig } from "./config.js";
import { KvEventsPool } from "./pool.js";
import type { PreciseDeps } from "./precise.js";
import { PromptBlockHasher } from "./prompt-block-hasher.js";
import { createSimTokenize } from "./sim-tokenizer.js";

export interface KvEventsRuntime {
  index: BlockIndex;
  hasher: PromptBlockHasher;
  pool: KvEventsPool;
  /** What the `precise` strategy is built with (StrategyDeps.precise). */
  precise: PreciseDeps;
}

export function createKvEventsRuntime(
  config: KvEventsRouterConfig,
  logger: Pick<Logger, "warn" | "info">,
): KvEventsRuntime {
  const index = new BlockIndex();
  // The schema admits only engine-sim's tokenizer and hash scheme today; both are checked at load.
  const tokenize = createSimTokenize({ vocabSize: config.tokenizer.vocabSize });
  const hashing = { blockSize: config.blockSize, hashSeed: config.hashSeed };
  const hasher = new PromptBlockHasher(tokenize, { ...hashing, ...config.prefixStore });
  const pool = new KvEventsPool(
    { index, logger },
    {
      replayTimeoutMs: config.replayTimeoutMs,
      reconnectMinMs: config.reconnectMinMs,
      reconnectMaxMs: config.reconnectMaxMs,
    },
  );
  return { index, hasher, pool, precise: { index, tokenize, hasher, hashing } };
}
