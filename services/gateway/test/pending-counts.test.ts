import { Registry } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { createGatewayMetrics } from "../src/pipeline/gateway-metrics.js";

async function values(registry: Registry, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  return (metric?.values ?? []).map((value) => ({ ...value.labels, value: value.value }));
}

describe("request and token counts", () => {
  it("reach the counters when they are collected, tokens only for answered requests", async () => {
    const registry = new Registry();
    const metrics = createGatewayMetrics(registry);
    const usage = { promptTokens: 5, completionTokens: 3, cachedTokens: 1 };
    metrics.counts.count("chat.completions", "m", 200, usage);
    metrics.counts.count("chat.completions", "m", 200, usage);
    metrics.counts.count("chat.completions", "m", 429, undefined);
    metrics.counts.count("completions", "other", 502, undefined);
    expect(await values(registry, "strata_gateway_requests_total")).toEqual(
      expect.arrayContaining([
        { operation: "chat.completions", model: "m", status: 200, value: 2 },
        { operation: "chat.completions", model: "m", status: 429, value: 1 },
        { operation: "completions", model: "other", status: 502, value: 1 },
      ]),
    );
    expect(await values(registry, "strata_gateway_tokens_total")).toEqual([
      { model: "m", type: "prompt", value: 10 },
      { model: "m", type: "completion", value: 6 },
      { model: "m", type: "cached", value: 2 },
    ]);
    // Counted once: a second scrape adds nothing that was already handed over.
    metrics.counts.count("chat.completions", "m", 200, usage);
    expect(await values(registry, "strata_gateway_tokens_total")).toContainEqual({
      model: "m",
      type: "prompt",
      value: 15,
    });
  });
});
