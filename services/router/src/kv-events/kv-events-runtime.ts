/**
 * Everything precise routing needs, built once per router from its `kvEvents` section: the block
 * index the engines' events fill, the subscriptions that fill it (one per endpoint with `kvEvents`),
 * and the prompt block hashers every model's `precise` strategy shares — with the engines' block
 * hash scheme, tokenizer and prompt text.
 */
import { ConfigError, type Logger } from "@strata/kit";
import { type BlockHashScheme, engineSimBlockHashScheme } from "./block-hash-scheme.js";
import { BlockIndex } from "./block-index.js";
import type { KvEventsRouterConfig } from "./config.js";
import { createPromptRenderer, PROMPT_TEMPLATES } from "./engine-prompt.js";
import { createHfTokenize, HfTokenizer } from "./hf-tokenizer.js";
import { KvEventsPool } from "./pool.js";
import type { PreciseDeps } from "./precise.js";
import { PromptBlockHasher } from "./prompt-block-hasher.js";
import { PromptHashers } from "./prompt-hashers.js";
import { createSimTokenize } from "./sim-tokenizer.js";
import type { Tokenize } from "./tokenize.js";
import { vllmBlockHashScheme } from "./vllm-block-hash.js";

export interface KvEventsRuntime {
  index: BlockIndex;
  /** The base hasher (requests without an adapter). */
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
  // The schema pairs vLLM's schemes with the hf tokenizer and engine-sim's with its own.
  const tokenize = createTokenize(config.tokenizer);
  const scheme: BlockHashScheme =
    config.hashAlgorithm === "engine-sim"
      ? engineSimBlockHashScheme(config.hashSeed)
      : vllmBlockHashScheme(config.hashAlgorithm, config.hashSeed);
  const hasher = new PromptBlockHasher(tokenize, {
    blockSize: config.blockSize,
    scheme,
    ...config.prefixStore,
  });
  const hashers = new PromptHashers(hasher, tokenize, { blockSize: config.blockSize, ...config.prefixStore });
  const template = config.chatTemplate;
  const renderPrompt =
    template === "as-sent"
      ? undefined
      : createPromptRenderer(typeof template === "string" ? PROMPT_TEMPLATES[template] : template);
  const pool = new KvEventsPool(
    { index, logger },
    {
      blockSize: config.blockSize,
      replayTimeoutMs: config.replayTimeoutMs,
      reconnectMinMs: config.reconnectMinMs,
      reconnectMaxMs: config.reconnectMaxMs,
    },
  );
  logger.info(
    {
      hashAlgorithm: config.hashAlgorithm,
      blockSize: config.blockSize,
      tokenizer: config.tokenizer.type,
      chatTemplate: typeof template === "string" ? template : "custom",
    },
    "precise routing hashes prompts as the engines do",
  );
  return { index, hasher, pool, precise: { index, tokenize, hasher, hashers, renderPrompt } };
}

function createTokenize(tokenizer: KvEventsRouterConfig["tokenizer"]): Tokenize {
  if (tokenizer.type === "engine-sim") return createSimTokenize({ vocabSize: tokenizer.vocabSize });
  try {
    return createHfTokenize(HfTokenizer.fromFile(tokenizer.path));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError([`kvEvents.tokenizer.path: cannot use ${tokenizer.path}: ${reason}`]);
  }
}
