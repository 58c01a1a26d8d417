import { describe, expect, it } from "vitest";
import { type Candidate, type CandidateInit, createCandidate } from "../src/scoring/candidate.js";
import type { KvAwareParams } from "../src/scoring/kv-aware.js";
import type { RoutingReport, RoutingRequest, Strategy } from "../src/scoring/strategy.js";
import { createStrategy } from "../src/scoring/strategy-registry.js";

let sequence = 0;
const request = (prompt: string, promptTokens = 0): RoutingRequest => ({
  requestId: `kv-${++sequence}`,
  model: "m",
  tenantId: "t",
  prompt,
  promptTokens,
});
const fleet = (count: number, extra: (index: number) => Partial<CandidateInit> = () => ({})): Candidate[] =>
  Array.from({ length: count }, (_, index) =>
    createCandidate({ id: `e${index}`, model: "m", ...extra(index) }),
  );

/** kv-aware on a clock the test moves, so the router's prefill-queue model drains when we say. */
function kvAware(params: KvAwareParams = {}) {
  const clock = { now: 1_000 };
  const strategy = createStrategy("kv-aware", params, { random: () => 0.5, now: () => clock.now });
  return { strategy, clock };
}

/** Decides and commits, as the router does; returns the chosen endpoint id. */
function route(strategy: Strategy, routed: RoutingRequest, candidates: readonly Candidate[]): string {
  const decision = strategy.decide(routed, candidates);
  strategy.onRouted?.(routed, decision.chosen.endpoint.id);
  return decision.chosen.endpoint.id;
}

const indexOf = (candidates: readonly Candidate[], id: string) =>
  candidates.findIndex((candidate) => candidate.endpoint.id === id);

// 12,000 characters ≈ 3,000 tokens: a tenant's document, as in the routing benchmark's shared-context.
const document = "the tenant document holds a long shared context ".repeat(250);
const ask = (question: string) => request(`${document}${question}`, 3_010);

describe("kv-aware estimate", () => {
  it("prefers the replica holding the prefix, and says how much was cached", () => {
    const { strategy, clock } = kvAware();
    const doc = "tenant document with a long shared context. ".repeat(100); // 4,400 chars ≈ 1,100 tokens
    const candidates = fleet(4);
    const owner = route(strategy, request(`${doc} first question`), candidates);
    clock.now += 1_000; // its prefill is long done
    const decision = strategy.decide(request(`${doc} second question`, 1_105), candidates);
    expect(decision.chosen.endpoint.id).toBe(owner);
    expect(decision.explain().reason).toBe(
      "kv-aware: est. TTFT 6.6 ms (cached 1089/1105 tokens, queue 0.0 ms)",
    );
    expect(decision.explain().details[decision.chosenIndex]).toBe(
      "est. TTFT 6.6 ms: queue 0.0 ms (prefill routed here), prefill 16 tokens (cached 1089/1105), running 0; cost 8.2 ms",
    );
    // A cold replica: 5 ms + 1,105 tokens × 0.1 ms, and the same prefill again as work for those behind.
    expect(decision.scores[(decision.chosenIndex + 1) % 4]).toBeCloseTo(5 + 110.5 + 110.5, 6);
  });

  it("keeps a 3000-token prefix on its replica when that replica has a short queue and another is idle", () => {
    const { strategy, clock } = kvAware();
    const candidates = fleet(2);
    const owner = route(strategy, ask(" first"), candidates);
    const other = owner === "e0" ? "e1" : "e0";
    clock.now += 1_000;
    // Two cold 400-token requests land on the owner: 90 ms of prefill ahead of the next request there.
    strategy.onRouted?.(request(`a ${"x".repeat(1_600)}`, 400), owner);
    strategy.onRouted?.(request(`b ${"y".repeat(1_600)}`, 400), owner);
    const decision = strategy.decide(ask(" second"), candidates);
    expect(decision.chosen.endpoint.id).toBe(owner);
    const details = decision.explain().details;
    expect(details[indexOf(candidates, owner)]).toMatch(
      /^est\. TTFT 96 ms: queue 90 ms \(prefill routed here\)/,
    );
    // The idle replica would compute the whole document: 5 ms + 3,010 tokens × 0.1 ms.
    expect(details[indexOf(candidates, other)]).toMatch(/^est\. TTFT 306 ms: queue 0\.0 ms/);
  });

  it("sends the request elsewhere once the holder's queue costs more than re-computing the prefix", () => {
    const { strategy, clock } = kvAware();
    const candidates = fleet(2);
    const owner = route(strategy, ask(" first"), candidates);
    clock.now += 1_000;
    // 700 ms of cold prefill queued on the owner (e.g. a peer router's decisions, shared over the bus).
    for (let index = 0; index < 7; index++) {
      strategy.onRouted?.(request(`${index} ${"z".repeat(3_800)}`, 950), owner);
    }
    const moved = strategy.decide(ask(" second"), candidates);
    expect(moved.chosen.endpoint.id).not.toBe(owner);
    expect(moved.explain().details[indexOf(candidates, owner)]).toMatch(
      /queue 700 ms \(prefill routed here\)/,
    );
    // The queue drains in real time: 500 ms later the holder is the better choice again.
    clock.now += 500;
    expect(strategy.decide(ask(" third"), candidates).chosen.endpoint.id).toBe(owner);
  });

  it("takes a request's prefill back out of the queue when it never reached the engine", () => {
    const { strategy } = kvAware();
    const routed = request(`cold ${"c".repeat(3_990)}`, 1_000);
    const endpoint = route(strategy, routed, fleet(1));
    const queued = () => strategy.decide(request("probe"), fleet(1)).explain().details[0]!;
    expect(queued()).toMatch(/queue 105 ms/);
    strategy.onReport?.(report(routed, endpoint, { outcome: "connect-error" }));
    expect(queued()).toMatch(/queue 0\.0 ms/);
  });

  it("counts the engine's own waiting queue when it is longer than the router's model", () => {
    const { strategy, clock } = kvAware({ queuedRequestMs: 30, prefillWorkWeight: 0 });
    const doc = "tenant document with a long shared context. ".repeat(100);
    const owner = route(strategy, request(doc), fleet(2));
    clock.now += 1_000;
    const withQueue = (queued: number) =>
      fleet(2, (index) => ({ waiting: `e${index}` === owner ? queued : 0 }));
    // The cache saves ~109 ms of prefill; each request waiting in the engine costs 30 ms.
    expect(strategy.decide(request(doc), withQueue(3)).chosen.endpoint.id).toBe(owner);
    const decision = strategy.decide(request(doc), withQueue(4));
    expect(decision.chosen.endpoint.id).not.toBe(owner);
    expect(decision.explain().details[decision.chosenIndex === 0 ? 1 : 0]).toMatch(
      /queue 4 × 30 ms \(engine waiting\)/,
    );
  });

  it("spreads cold requests: the shortest queue first, then the emptiest index", () => {
    const { strategy } = kvAware();
    // Each cold request leaves prefill queued where it went, so the next one goes elsewhere.
    const picks = Array.from({ length: 4 }, (_, user) =>
      route(strategy, request(`user ${user} ${"x".repeat(200)}`), fleet(4)),
    );
    expect(new Set(picks).size).toBe(4);
    const busy = fleet(4, (index) => ({ waiting: index === 3 ? 0 : 2 }));
    const decision = strategy.decide(request(`cold ${"y".repeat(200)}`), busy);
    expect(decision.chosen.endpoint.id).toBe("e3");
    expect(decision.explain().reason).toMatch(/no cached prefix \(3 blocks\) anywhere, least loaded: queue/);
  });

  it("learns the per-request cost of the engine's waiting queue from reports", () => {
    const { strategy } = kvAware({ initialUncachedTokens: 0 });
    const waitingOne = () =>
      strategy.decide(
        request("q"),
        fleet(1, () => ({ waiting: 1 })),
      ).scores[0]!;
    const before = waitingOne();
    for (let index = 0; index < 50; index++) {
      const routed = request("q");
      route(strategy, routed, fleet(1));
      strategy.onReport?.(report(routed, "e0", { promptTokens: 1000 }));
    }
    expect(waitingOne()).toBeGreaterThan(before + 50);
  });
});

describe("kv-aware load cap", () => {
  it("spills a hot prefix to one replica and keeps it there, instead of scattering it", () => {
    const { strategy, clock } = kvAware();
    const owner = route(strategy, ask(" first"), fleet(4));
    clock.now += 1_000;
    // The owner carries 20 requests, the others 2: the cap is max(8, 1.5 × 27 / 4) ≈ 10.1.
    const loaded = fleet(4, (index) => ({ inFlight: `e${index}` === owner ? 20 : 2 }));
    const spills = new Set<string>();
    for (let index = 0; index < 6; index++) {
      spills.add(route(strategy, ask(` hot ${index}`), loaded));
      clock.now += 20;
    }
    expect(spills.has(owner)).toBe(false);
    expect(spills.size).toBe(1);
    const decision = strategy.decide(ask(" again"), loaded);
    expect(decision.explain().reason).toMatch(/; 1 over load cap 10\.13$/);
    expect(decision.explain().details[indexOf(loaded, owner)]).toMatch(
      /incl\. 1088 ms over load cap \(load 20 \+ 1 > 10\.13\)$/,
    );
  });

  it("lets a small overload stand when leaving would re-compute a long prefix", () => {
    const { strategy, clock } = kvAware();
    const owner = route(strategy, ask(" first"), fleet(4));
    clock.now += 1_000;
    // One request over the cap (100 ms) is cheaper than computing 3,000 tokens elsewhere (~600 ms).
    const loaded = fleet(4, (index) => ({ inFlight: `e${index}` === owner ? 8 : 0 }));
    expect(route(strategy, ask(" second"), loaded)).toBe(owner);
  });
});

describe("kv-aware prefill speed", () => {
  const warm = (
    strategy: Strategy,
    clock: { now: number },
    reports: (routed: RoutingRequest) => RoutingReport,
  ) => {
    for (let index = 0; index < 100; index++) {
      const routed = request(`cold ${index} ${"w".repeat(3_990)}`, 1_000);
      route(strategy, routed, fleet(1));
      clock.now += 1_000; // one at a time: each found the queue empty
      strategy.onReport?.(reports(routed));
    }
  };
  const coldEstimate = (strategy: Strategy) =>
    strategy.decide(request(`probe ${"p".repeat(3_990)}`, 1_000), fleet(1)).scores[0]!;

  it("learns from streamed first-token times that a replica prefills slower than configured", () => {
    const { strategy, clock } = kvAware();
    // 5 ms + 1,000 tokens × 0.1 ms, plus the same prefill again as work for the requests behind it.
    expect(coldEstimate(strategy)).toBeCloseTo(5 + 100 + 100, 6);
    // The engine takes twice the configured 5 ms + 1,000 × 0.1 ms.
    warm(strategy, clock, (routed) => report(routed, "e0", { timeToFirstTokenMs: 210, latencyMs: 900 }));
    const learned = coldEstimate(strategy);
    expect(learned).toBeGreaterThan(2 * 205 * 0.95);
    expect(learned).toBeLessThan(2 * 205 * 1.01);
    const decision = strategy.decide(request("x".repeat(400), 100), fleet(1));
    expect(decision.explain().details[0]).toMatch(/at 1\.9\d× configured cost/);
  });

  it("ignores first-token times of answers that were not streamed", () => {
    const { strategy, clock } = kvAware();
    warm(strategy, clock, (routed) => report(routed, "e0", { timeToFirstTokenMs: 900, latencyMs: 900 }));
    expect(coldEstimate(strategy)).toBeCloseTo(205, 6);
  });

  it("can be told not to learn", () => {
    const { strategy, clock } = kvAware({ speedLearningWeight: 0 });
    warm(strategy, clock, (routed) => report(routed, "e0", { timeToFirstTokenMs: 410, latencyMs: 900 }));
    expect(coldEstimate(strategy)).toBeCloseTo(205, 6);
  });
});

describe("kv-aware parameters", () => {
  it("rejects a negative weight and an unknown setting", () => {
    expect(() => createStrategy("kv-aware", { prefillWorkWeight: -1 })).toThrow(/prefillWorkWeight/);
    expect(() => createStrategy("kv-aware", { queueWeight: 1 })).toThrow(/queueWeight/);
  });
});

function report(
  routed: RoutingRequest,
  endpointId: string,
  extra: Partial<RoutingReport> = {},
): RoutingReport {
  return {
    requestId: routed.requestId,
    endpointId,
    promptTokens: routed.promptTokens,
    cachedTokens: 0,
    outcome: "success",
    ...extra,
  };
}
