import type { Embedder } from "./embedder.js";
import type { EmbeddingsConfig } from "./embeddings-config.js";
import { HttpEmbedder } from "./http-embedder.js";
import { LocalEmbedder } from "./local-embedder.js";

/** The embedding backends built into the gateway, by their `embeddings.backend` name. */
const backends: Record<EmbeddingsConfig["backend"], (config: EmbeddingsConfig) => Embedder> = {
  local: (config) => new LocalEmbedder(config.local.dimensions),
  openai: (config) =>
    new HttpEmbedder({
      // The config schema refuses `openai` without these two.
      baseUrl: config.openai.baseUrl!,
      model: config.openai.model!,
      apiKey: config.openai.apiKey,
      dimensions: config.openai.dimensions,
      timeoutMs: config.openai.timeoutMs,
      maxBatchSize: config.openai.maxBatchSize,
      maxConcurrency: config.openai.maxConcurrency,
    }),
};

export function createEmbedder(config: EmbeddingsConfig): Embedder {
  return backends[config.backend](config);
}
