import type { EnvMapping } from "@strata/kit";
import { z } from "zod";
import { MAX_LOCAL_DIMENSIONS, MIN_LOCAL_DIMENSIONS } from "./local-embedder.js";

/** `embeddings` in the gateway config: which backend serves `/v1/embeddings` and the semantic cache. */
export const embeddingsConfigSchema = z
  .object({
    /** `local`: the built-in hashed-feature embedder; `openai`: any OpenAI-compatible `/v1/embeddings`. */
    backend: z.enum(["local", "openai"]).default("local"),
    local: z
      .object({
        dimensions: z.coerce.number().int().min(MIN_LOCAL_DIMENSIONS).max(MAX_LOCAL_DIMENSIONS).default(384),
      })
      .strict()
      .prefault({}),
    openai: z
      .object({
        /** Base URL including the API version, as OpenAI's SDKs take it: `https://api.openai.com/v1`, `http://tei:8080/v1`. */
        baseUrl: z.string().url().optional(),
        model: z.string().min(1).optional(),
        apiKey: z.string().min(1).optional(),
        /** Ask the model for vectors of this length (models that support it, e.g. text-embedding-3-*). */
        dimensions: z.coerce.number().int().positive().optional(),
        timeoutMs: z.coerce.number().int().positive().default(30_000),
        /** Inputs per upstream call; TEI refuses more than 32 by default, OpenAI takes 2048. */
        maxBatchSize: z.coerce.number().int().positive().default(32),
        /** Upstream calls in flight at once for one large request. */
        maxConcurrency: z.coerce.number().int().positive().default(4),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, context) => {
    if (config.backend !== "openai") return;
    for (const field of ["baseUrl", "model"] as const) {
      if (!config.openai[field])
        context.addIssue({
          code: "custom",
          path: ["openai", field],
          message: `is required when embeddings.backend is "openai"`,
        });
    }
  });

export type EmbeddingsConfig = z.output<typeof embeddingsConfigSchema>;

export const embeddingsEnv: EnvMapping = {
  "embeddings.backend": "GATEWAY_EMBEDDINGS_BACKEND",
  "embeddings.local.dimensions": "GATEWAY_EMBEDDINGS_LOCAL_DIMENSIONS",
  "embeddings.openai.baseUrl": "GATEWAY_EMBEDDINGS_BASE_URL",
  "embeddings.openai.model": "GATEWAY_EMBEDDINGS_MODEL",
  "embeddings.openai.apiKey": "GATEWAY_EMBEDDINGS_API_KEY",
  "embeddings.openai.dimensions": "GATEWAY_EMBEDDINGS_DIMENSIONS",
  "embeddings.openai.timeoutMs": "GATEWAY_EMBEDDINGS_TIMEOUT_MS",
  "embeddings.openai.maxBatchSize": "GATEWAY_EMBEDDINGS_MAX_BATCH_SIZE",
  "embeddings.openai.maxConcurrency": "GATEWAY_EMBEDDINGS_MAX_CONCURRENCY",
};
