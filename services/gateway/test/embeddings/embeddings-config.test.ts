import { ConfigError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { loadGatewayConfig } from "../../src/config.js";
import { createEmbedder } from "../../src/embeddings/create-embedder.js";
import { HttpEmbedder } from "../../src/embeddings/http-embedder.js";
import { LocalEmbedder } from "../../src/embeddings/local-embedder.js";

const base = { GATEWAY_KEY_HASH_SECRET: "0123456789abcdef0123" };

describe("embeddings configuration", () => {
  it("defaults to the built-in embedder", () => {
    const config = loadGatewayConfig(base);
    expect(config.embeddings).toMatchObject({ backend: "local", local: { dimensions: 384 } });
    const embedder = createEmbedder(config.embeddings);
    expect(embedder).toBeInstanceOf(LocalEmbedder);
    expect(embedder.dimensions).toBe(384);
  });

  it("builds the OpenAI-compatible backend from the environment", async () => {
    const config = loadGatewayConfig({
      ...base,
      GATEWAY_EMBEDDINGS_BACKEND: "openai",
      GATEWAY_EMBEDDINGS_BASE_URL: "http://tei:8080/v1",
      GATEWAY_EMBEDDINGS_MODEL: "bge-small-en-v1.5",
      GATEWAY_EMBEDDINGS_MAX_BATCH_SIZE: "16",
    });
    const embedder = createEmbedder(config.embeddings);
    expect(embedder).toBeInstanceOf(HttpEmbedder);
    expect(embedder.model).toBe("bge-small-en-v1.5");
    expect(embedder.dimensions).toBeUndefined(); // learnt from the first answer
    await embedder.close?.();
  });

  it("names the missing settings of the OpenAI-compatible backend", () => {
    let error: unknown;
    try {
      loadGatewayConfig({ ...base, GATEWAY_EMBEDDINGS_BACKEND: "openai" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'GATEWAY_EMBEDDINGS_BASE_URL (embeddings.openai.baseUrl): is required when embeddings.backend is "openai"',
      'GATEWAY_EMBEDDINGS_MODEL (embeddings.openai.model): is required when embeddings.backend is "openai"',
    ]);
    expect(() => loadGatewayConfig({ ...base, GATEWAY_EMBEDDINGS_LOCAL_DIMENSIONS: "8" })).toThrow(
      /GATEWAY_EMBEDDINGS_LOCAL_DIMENSIONS/,
    );
    expect(() => loadGatewayConfig({ ...base, GATEWAY_SEMANTIC_CACHE_THRESHOLD: "1.5" })).toThrow(
      /GATEWAY_SEMANTIC_CACHE_THRESHOLD/,
    );
    expect(
      loadGatewayConfig({ ...base, GATEWAY_SEMANTIC_CACHE_ENABLED: "false" }).cache.semantic.enabled,
    ).toBe(false);
  });
});
