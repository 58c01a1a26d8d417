import { ConfigError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { loadRouterConfig } from "../src/config-source.js";
import { StrategySelector } from "../src/scoring/strategy-selector.js";

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

const withFile = (config: unknown) => () =>
  loadRouterConfig({ ROUTER_CONFIG_FILE: "/routing.json" }, () => JSON.stringify(config));

describe("routing configuration", () => {
  it("defaults to kv-aware for every model", () => {
    const config = loadRouterConfig({});
    expect(config.routing).toEqual({ defaultStrategy: "kv-aware", params: {}, models: {} });
    expect(new StrategySelector(config.routing).forModel("any").name).toBe("kv-aware");
  });

  it("picks strategies per model, with shared and per-model parameters", () => {
    const config = withFile({
      routing: {
        defaultStrategy: "least-load",
        params: { "prefix-hash": { loadFactor: 2 } },
        models: {
          llama: { strategy: "prefix-hash" },
          qwen: { strategy: "cache-aware", params: { cacheThreshold: 0.5 } },
        },
      },
    })();
    const selector = new StrategySelector(config.routing);
    expect(selector.forModel("llama").name).toBe("prefix-hash");
    expect(selector.forModel("qwen").name).toBe("cache-aware");
    expect(selector.forModel("other").name).toBe("least-load");
    expect(selector.forModel("llama")).toBe(selector.forModel("llama")); // one instance per model
  });

  it("names the setting of an unknown strategy and of a bad parameter", () => {
    expect(problems(() => loadRouterConfig({ ROUTER_DEFAULT_STRATEGY: "fastest" }))).toEqual([
      expect.stringMatching(
        /^ROUTER_DEFAULT_STRATEGY \(routing\.defaultStrategy\): unknown strategy "fastest" \(known: round-robin, least-load, prefix-hash, cache-aware, kv-aware, weighted, precise\)$/,
      ),
    ]);
    const bad = problems(
      withFile({
        routing: {
          params: { "kv-aware": { loadFactor: 0.5 } },
          models: {
            llama: { strategy: "cache-aware", params: { cacheTreshold: 0.4 } },
            qwen: { strategy: "nope" },
          },
        },
      }),
    );
    expect(bad).toHaveLength(3);
    expect(bad).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^routing\.params\.kv-aware\.loadFactor: /),
        expect.stringMatching(/^routing\.models\.llama\.params: .*cacheTreshold/),
        expect.stringMatching(/^routing\.models\.qwen\.strategy: unknown strategy "nope"/),
      ]),
    );
  });
});
