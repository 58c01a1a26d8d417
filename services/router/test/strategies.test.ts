import { describe, expect, it } from "vitest";
import { createStrategy } from "../src/scoring/strategy-registry.js";
import { fleet, routingRequest as request, routeWith as route } from "./support/strategy-fixture.js";

describe("round-robin", () => {
  it("rotates over eligible candidates only", () => {
    const strategy = createStrategy("round-robin");
    const candidates = fleet(3, (index) => (index === 1 ? { eligible: false } : {}));
    expect(Array.from({ length: 4 }, () => route(strategy, request("x"), candidates))).toEqual([
      "e0",
      "e2",
      "e0",
      "e2",
    ]);
  });
});

describe("prefix-hash (CHWBL)", () => {
  const prompt = (user: number) => `user ${user}: ${"shared context ".repeat(10)}`;

  it("sends the same 100-character prefix to the same endpoint while loads are even", () => {
    const strategy = createStrategy("prefix-hash");
    const candidates = fleet(8);
    const first = route(strategy, request(prompt(1)), candidates);
    expect(route(strategy, request(`${prompt(1)} and a different ending`), candidates)).toBe(first);
    const owners = new Set(
      Array.from({ length: 40 }, (_, user) => route(strategy, request(prompt(user)), candidates)),
    );
    expect(owners.size).toBeGreaterThan(4); // different prefixes spread over the ring
  });

  it("never lets an endpoint's load pass the bound ((total + 1) / n) × 1.25", () => {
    const strategy = createStrategy("prefix-hash");
    const inFlight = new Map<string, number>();
    for (let step = 0; step < 400; step++) {
      const candidates = fleet(8, (index) => ({ inFlight: inFlight.get(`e${index}`) ?? 0 }));
      const total = candidates.reduce((sum, candidate) => sum + candidate.inFlight, 0);
      const bound = ((total + 1) / 8) * 1.25;
      const chosen = route(strategy, request(prompt(7)), candidates); // one hot prefix
      const load = inFlight.get(chosen) ?? 0;
      // While some endpoint is within the bound, the chosen one is; otherwise (only at the very start,
      // when (0 + 1) / 8 × 1.25 < 1) KubeAI falls back to the first endpoint on the ring.
      if (candidates.some((candidate) => candidate.inFlight + 1 <= bound))
        expect(load + 1).toBeLessThanOrEqual(bound);
      inFlight.set(chosen, load + 1);
    }
    expect(Math.max(...inFlight.values())).toBeLessThanOrEqual((401 / 8) * 1.25);
    expect(inFlight.size).toBe(8); // the hot prefix spilled over every endpoint
  });

  it("explains the walk past loaded endpoints", () => {
    const strategy = createStrategy("prefix-hash", { loadFactor: 1 });
    const idle = fleet(2);
    const owner = strategy.decide(request("p"), idle).chosenIndex;
    const loaded = fleet(2, (index) => ({ inFlight: index === owner ? 5 : 0 }));
    const decision = strategy.decide(request("p"), loaded);
    expect(decision.chosenIndex).toBe(1 - owner);
    expect(decision.explain().reason).toMatch(
      /^prefix-hash: ring owner after \d+ step\(s\) past loaded endpoints/,
    );
  });
});

describe("cache-aware (SGLang)", () => {
  const long = "system prompt for the support bot. ".repeat(4);

  it("routes a prefix match above 0.3 to the worker that has it", () => {
    const strategy = createStrategy("cache-aware");
    const candidates = fleet(3);
    const first = route(strategy, request(`${long} question one`), candidates);
    const decision = strategy.decide(request(`${long} question two`), candidates);
    expect(decision.chosen.endpoint.id).toBe(first);
    expect(decision.explain().reason).toMatch(/^cache-aware: prefix match 0\.\d+ > 0\.3$/);
  });

  it("below the threshold picks the worker with the smallest tree", () => {
    const strategy = createStrategy("cache-aware");
    const candidates = fleet(3);
    const used = [
      route(strategy, request("a".repeat(300)), candidates),
      route(strategy, request("b".repeat(200)), candidates),
    ];
    const empty = ["e0", "e1", "e2"].find((id) => !used.includes(id));
    // "a" matches only 10 of 100 characters (0.1 ≤ 0.3): the empty tree wins over the match.
    const decision = strategy.decide(request(`${"a".repeat(10)}${"c".repeat(90)}`), candidates);
    expect(new Set(used).size).toBe(2);
    expect(decision.chosen.endpoint.id).toBe(empty);
    expect(decision.explain().reason).toContain("smallest tree 0 chars");
  });

  it("goes to the shortest queue only when imbalance passes both thresholds (abs 64 and rel 1.5)", () => {
    const strategy = createStrategy("cache-aware");
    const owner = route(strategy, request(long), fleet(2));
    const other = owner === "e0" ? "e1" : "e0";
    const loads = (ownerLoad: number, otherLoad: number) =>
      fleet(2, (index) => ({ inFlight: `e${index}` === owner ? ownerLoad : otherLoad }));
    // abs 64 exceeded but 100 ≤ 1.5 × 70: still balanced, cache wins.
    expect(strategy.decide(request(long), loads(134, 70)).chosen.endpoint.id).toBe(owner);
    // 65 > 64 and 66 > 1.5 × 1: imbalanced, shortest queue.
    const decision = strategy.decide(request(long), loads(66, 1));
    expect(decision.chosen.endpoint.id).toBe(other);
    expect(decision.explain().reason).toMatch(/^cache-aware: imbalanced/);
  });
});
