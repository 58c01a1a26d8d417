import { createLogger, silentLogger } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { loadRouterConfig } from "../src/config-source.js";
import { EndpointTable } from "../src/endpoints/endpoint-table.js";
import { kvEventsRouterSchema } from "../src/kv-events/config.js";
import { createKvEventsRuntime } from "../src/kv-events/kv-events-runtime.js";
import { warnPreciseWithoutEvents } from "../src/routing/precise-without-events.js";
import { StrategySelector } from "../src/scoring/strategy-selector.js";
import { configProblems } from "./support/config-problems.js";
import { endpoint, testPolicy } from "./support/router-fixture.js";

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
    expect(configProblems(() => loadRouterConfig({ ROUTER_DEFAULT_STRATEGY: "fastest" }))).toEqual([
      expect.stringMatching(
        /^ROUTER_DEFAULT_STRATEGY \(routing\.defaultStrategy\): unknown strategy "fastest" \(known: round-robin, least-load, prefix-hash, cache-aware, kv-aware, weighted, precise\)$/,
      ),
    ]);
    const bad = configProblems(
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

  it("warns at start about a precise model none of whose endpoints publishes KV events", () => {
    const config = withFile({
      routing: { models: { blind: { strategy: "precise" }, seeing: { strategy: "precise" } } },
    })();
    const table = new EndpointTable(
      [
        endpoint("b", "blind"),
        endpoint("s", "seeing", { kvEvents: { endpoint: "tcp://10.0.0.1:5557", topic: "" } }),
        endpoint("o", "other"),
      ],
      testPolicy,
    );
    const kv = createKvEventsRuntime(kvEventsRouterSchema.parse({}), silentLogger());
    const strategies = new StrategySelector(config.routing, {}, { random: Math.random, precise: kv.precise });
    const warned: Record<string, unknown>[] = [];
    const destination = { write: (line: string) => void warned.push(JSON.parse(line)) };
    warnPreciseWithoutEvents(strategies, table, createLogger({ service: "router-test", destination }));
    expect(warned).toEqual([
      expect.objectContaining({
        model: "blind",
        msg: 'strategy "precise" but no endpoint of the model has kvEvents: routing by load only',
      }),
    ]);
  });
});
