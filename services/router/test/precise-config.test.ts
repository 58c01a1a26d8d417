import { describe, expect, it } from "vitest";
import { loadRouterConfig } from "../src/config-source.js";
import { BlockIndex, createSimTokenize } from "../src/kv-events/index.js";
import { createStrategy } from "../src/scoring/strategy-registry.js";
import { configProblems as problems } from "./support/config-problems.js";

const endpoint = (extra: Record<string, unknown> = {}) =>
  JSON.stringify([{ id: "a", url: "http://10.0.0.7:8000", model: "llama", ...extra }]);

describe("precise routing configuration", () => {
  it("accepts precise as the default strategy, with KV-event feeds on endpoints and the engines' hashing", () => {
    const config = loadRouterConfig({
      ROUTER_DEFAULT_STRATEGY: "precise",
      ROUTER_ENDPOINTS: endpoint({
        kvEvents: { endpoint: "tcp://10.0.0.7:5557", replayEndpoint: "tcp://10.0.0.7:5558", topic: "kv@" },
      }),
      ROUTER_KV_BLOCK_SIZE: "32",
      ROUTER_KV_HASH_SEED: "42",
    });
    expect(config.routing.defaultStrategy).toBe("precise");
    expect(config.endpoints[0]!.kvEvents).toEqual({
      endpoint: "tcp://10.0.0.7:5557",
      replayEndpoint: "tcp://10.0.0.7:5558",
      topic: "kv@",
    });
    expect(config.kvEvents).toMatchObject({
      blockSize: 32,
      hashSeed: "42",
      hashAlgorithm: "engine-sim",
      tokenizer: { type: "engine-sim", vocabSize: 32_000 },
      chatTemplate: "as-sent",
      prefixStore: { chunkChars: 256, maxChunks: 32_768 },
    });
  });

  it("validates precise's parameters and the KV sections, naming the setting", () => {
    const file = (config: unknown) => () => JSON.stringify(config);
    const load = (config: unknown) => () => loadRouterConfig({ ROUTER_CONFIG_FILE: "/r.json" }, file(config));
    expect(
      problems(load({ routing: { defaultStrategy: "precise", params: { precise: { tieBlocks: -1 } } } }))[0],
    ).toMatch(/routing\.params\.precise\.tieBlocks/);
    // Hashing is the router's, not a strategy's: one setting for every model, like the engines'.
    expect(
      problems(
        load({ routing: { models: { llama: { strategy: "precise", params: { blockSize: 16 } } } } }),
      )[0],
    ).toMatch(/routing\.models\.llama\.params/);
    expect(problems(load({ kvEvents: { hashAlgorithm: "xxhash_cbor" } }))[0]).toMatch(
      /kvEvents\.hashAlgorithm.*not implemented/,
    );
    // vLLM's hashes need the model's tokenizer, which engine-sim's cannot stand in for.
    expect(problems(load({ kvEvents: { hashAlgorithm: "sha256_cbor" } }))[0]).toMatch(
      /kvEvents\.tokenizer\.type.*tokenizer\.json/,
    );
    expect(problems(load({ kvEvents: { tokenizer: { type: "sentencepiece" } } }))[0]).toMatch(
      /kvEvents\.tokenizer\.type/,
    );
    expect(
      problems(() =>
        loadRouterConfig({ ROUTER_ENDPOINTS: endpoint({ kvEvents: { endpoint: "tcp://*:5557" } }) }),
      ),
    ).toEqual([
      "ROUTER_ENDPOINTS[0].kvEvents.endpoint (endpoints.0.kvEvents.endpoint): must be tcp://host:port (a concrete host to connect to)",
    ]);
  });

  it("builds precise only with the router's KV index, and says what is missing otherwise", () => {
    expect(() => createStrategy("precise")).toThrow(/needs the KV-event index/);
    const strategy = createStrategy(
      "precise",
      {},
      {
        random: Math.random,
        precise: { index: new BlockIndex(), tokenize: createSimTokenize() },
      },
    );
    expect(strategy.name).toBe("precise");
  });

  it("rejects adapter names that are ambiguous", () => {
    const list = JSON.stringify([
      { id: "a", url: "http://x:1", model: "llama", adapters: ["sql", "qwen"] },
      { id: "b", url: "http://y:1", model: "qwen", adapters: ["sql"] },
    ]);
    const found = problems(() => loadRouterConfig({ ROUTER_ENDPOINTS: list }));
    expect(found).toContain(
      'ROUTER_ENDPOINTS[0].adapters.1 (endpoints.0.adapters.1): adapter "qwen" is also a model or alias name',
    );
    expect(found.some((problem) => /endpoints\.1\.adapters\.0.*two base models/.test(problem))).toBe(true);
  });

  it("reads outlier detection from the environment and refuses models both inline and from a file", () => {
    const config = loadRouterConfig({
      ROUTER_OUTLIER_CONSECUTIVE_FAILURES: "3",
      ROUTER_OUTLIER_BASE_EJECTION_MS: "1000",
      ROUTER_OUTLIER_MAX_EJECTION_PERCENT: "50",
      ROUTER_OUTLIER_DETECTION_ENABLED: "false",
    });
    expect(config.outlierDetection).toEqual({
      enabled: false,
      consecutiveFailures: 3,
      baseEjectionMs: 1000,
      maxEjectionMs: 300_000,
      maxEjectionPercent: 50,
    });
    const both = JSON.stringify({ modelsFile: "/m.json", models: { aliases: { a: "llama" } } });
    expect(problems(() => loadRouterConfig({ ROUTER_CONFIG_FILE: "/r.json" }, () => both))).toEqual([
      "models: set either models or modelsFile, not both",
    ]);
  });
});
