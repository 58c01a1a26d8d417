import { routerV1 } from "@strata/proto";
import { describe, expect, it } from "vitest";
import type { RoutingReport, Strategy } from "../src/scoring/strategy.js";
import { createStrategy } from "../src/scoring/strategy-registry.js";
import { endpoint, routerFixture } from "./support/router-fixture.js";

let nextId = 0;
const requestId = () => `hook-${++nextId}`;

/** Wraps a real strategy and records the hook calls the router makes. */
function recording(inner: Strategy) {
  const calls: string[] = [];
  const reports: RoutingReport[] = [];
  const strategy: Strategy = {
    name: inner.name,
    decide: (request, candidates) => inner.decide(request, candidates),
    onRouted(request, endpointId) {
      calls.push(`routed ${request.requestId} → ${endpointId}`);
      inner.onRouted?.(request, endpointId);
    },
    onReport(report) {
      reports.push(report);
      inner.onReport?.(report);
    },
    onEndpointsChanged(endpointIds) {
      calls.push(`endpoints ${endpointIds.join(",")}`);
      inner.onEndpointsChanged?.(endpointIds);
    },
  };
  return { strategy, calls, reports };
}

describe("Router and strategy hooks", () => {
  it("tells the strategy its endpoints, each committed decision and each first Report with usage", () => {
    const { strategy, calls, reports } = recording(createStrategy("kv-aware"));
    const { router } = routerFixture([endpoint("a", "m"), endpoint("b", "m")], { instance: strategy });
    const id = requestId();
    const response = router.route({
      requestId: id,
      model: "m",
      tenantId: "t",
      prompt: "hi",
      promptTokens: 1,
    });
    // Reported twice (a caller's retry): only the first reaches the strategy.
    for (let times = 0; times < 2; times++) {
      router.report({
        requestId: id,
        endpointId: "",
        outcome: routerV1.Outcome.SUCCESS,
        promptTokens: 9,
        cachedTokens: 4,
      });
    }
    expect(calls).toEqual(["endpoints a,b", `routed ${id} → ${response.endpoint!.id}`]);
    expect(reports).toEqual([
      {
        requestId: id,
        endpointId: response.endpoint!.id,
        promptTokens: 9,
        cachedTokens: 4,
        outcome: "success",
      },
    ]);
  });

  it("returns kv-aware's estimate per candidate and a reason naming the cache hit", () => {
    const { router, state } = routerFixture([endpoint("a", "m"), endpoint("b", "m")], {
      strategy: "kv-aware",
    });
    const prompt = "You are a helpful assistant for the billing team. ".repeat(40); // 2,000 chars ≈ 500 tokens
    const first = router.route({
      requestId: requestId(),
      model: "m",
      tenantId: "t",
      prompt,
      promptTokens: 500,
    });
    const owner = first.endpoint!.id!;
    state(owner).load = { running: 3, waiting: 0, kvCacheUsage: 0.4 };
    const second = router.route({
      requestId: requestId(),
      model: "m",
      tenantId: "t",
      prompt,
      promptTokens: 500,
    });
    expect(second.endpoint!.id).toBe(owner);
    expect(second.strategy).toBe("kv-aware");
    // The queue is the owner's prefill of the first request, still running in the router's model.
    expect(second.reason).toMatch(
      /^kv-aware: est\. TTFT [\d.]+ ms \(cached 496\/500 tokens, queue [\d.]+ ms\)$/,
    );
    const byId = new Map(second.candidates!.map((candidate) => [candidate.endpointId, candidate]));
    expect(byId.get(owner)!.reason).toMatch(
      /^est\. TTFT [\d.]+ ms: queue [\d.]+ ms \(prefill routed here\), prefill 4 tokens \(cached 496\/500\), running 3; cost [\d.]+ ms$/,
    );
    const other = owner === "a" ? "b" : "a";
    expect(byId.get(other)!.score).toBeGreaterThan(byId.get(owner)!.score!);
  });
});
