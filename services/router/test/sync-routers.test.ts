/**
 * Two real Routers (real strategies, in-flight trackers, endpoint tables) kept in step by RouterSync
 * over the in-process bus: what one decides, the other's routing sees.
 */
import { createMemoryBus, Registry } from "@strata/kit";
import { eventually, waitFor } from "@strata/kit/testing";
import { routerV1 } from "@strata/proto";
import { afterEach, describe, expect, it } from "vitest";
import { RouterSync } from "../src/sync/router-sync.js";
import { createSyncMetrics } from "../src/sync/sync-metrics.js";
import { routerSyncTarget } from "../src/sync/sync-target.js";
import { endpoint, routerFixture } from "./support/router-fixture.js";

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const endpoints = [endpoint("e1", "llama"), endpoint("e2", "llama"), endpoint("e3", "llama")];
const ids = endpoints.map((config) => config.id);

/** One replica: a Router over its own state, publishing to and applying from the shared bus. */
function replica(bus: ReturnType<typeof createMemoryBus>, strategy: string, group: string) {
  const built: { sync?: RouterSync } = {};
  const { router, inFlight, clock } = routerFixture(endpoints, {
    strategy,
    listener: (state) => {
      built.sync = new RouterSync({
        bus,
        group,
        target: routerSyncTarget(state),
        metrics: createSyncMetrics(new Registry()),
      }).start();
      return built.sync;
    },
  });
  const sync = built.sync!;
  closers.push(() => sync.close());
  let count = 0;
  const route = (prompt = "", promptTokens = 0) => {
    const requestId = `${group}-${sync.replicaId}-${++count}`;
    const response = router.route({ requestId, model: "llama", tenantId: "t", prompt, promptTokens });
    return { requestId, response, endpointId: response.endpoint!.id! };
  };
  const report = (requestId: string, cachedTokens = 0, promptTokens = 0) =>
    router.report({
      requestId,
      endpointId: "",
      outcome: routerV1.Outcome.SUCCESS,
      promptTokens,
      cachedTokens,
    });
  const counts = () => Object.fromEntries(ids.map((id) => [id, inFlight.count(id)]));
  /** Peer events applied so far, routed and reported. */
  const applied = async () =>
    (await sync.metrics.applied.get()).values.reduce((total, sample) => total + sample.value, 0);
  return { router, route, report, counts, applied, inFlight, clock, sync };
}

let groupCount = 0;
function pair(strategy: string) {
  const bus = createMemoryBus();
  closers.push(() => bus.close());
  const group = `routers-${process.pid}-${++groupCount}`;
  return { a: replica(bus, strategy, group), b: replica(bus, strategy, group) };
}

/** A conversation: a long system prompt, then each turn extends the previous prompt. */
function conversation(topic: string, turns: number): string[] {
  const system = `You are the support assistant for ${topic}. Answer briefly and cite the manual. `.repeat(
    12,
  );
  const prompts = [system];
  for (let turn = 1; turn < turns; turn++)
    prompts.push(`${prompts.at(-1)}\nuser: question ${turn} on ${topic}?`);
  return prompts;
}

describe("two routers kept in step by RouterSync", () => {
  it("counts a peer's requests in flight, so least-load on one replica avoids what the other loaded", async () => {
    const { a, b } = pair("least-load");
    const routed = Array.from({ length: 5 }, () => a.route());
    const expected = a.counts();
    expect(Object.values(expected).sort()).toEqual([1, 2, 2]);
    await eventually(() => expect(b.counts()).toEqual(expected));
    const onB = b.route();
    expect(onB.response.candidates!.map((candidate) => candidate.inFlight)).toEqual(
      ids.map((id) => expected[id]),
    );
    const leastLoaded = ids.find((id) => expected[id] === 1);
    expect(onB.endpointId).toBe(leastLoaded);
    await eventually(() => expect(a.counts()[onB.endpointId]).toBe(2));

    for (const { requestId } of routed) a.report(requestId);
    b.report(onB.requestId);
    await eventually(() => expect(b.counts()).toEqual({ e1: 0, e2: 0, e3: 0 }));
    await eventually(() => expect(a.counts()).toEqual({ e1: 0, e2: 0, e3: 0 }));
  });

  it("closes a request on both replicas when its Report reaches the replica that did not route it", async () => {
    const { a, b } = pair("least-load");
    const first = a.route();
    await waitFor(() => b.inFlight.count(first.endpointId) === 1, { message: "b to count a's request" });
    b.report(first.requestId);
    expect(b.inFlight.count(first.endpointId)).toBe(0);
    await waitFor(() => a.inFlight.count(first.endpointId) === 0, { message: "a to hear b's Report" });
  });

  it("expires a peer's entry by the tracker's sweep when its Report is lost", async () => {
    const { a, b } = pair("least-load");
    const first = a.route();
    await waitFor(() => b.inFlight.count(first.endpointId) === 1, { message: "b to count a's request" });
    b.clock.advance(60_001);
    expect(b.inFlight.sweep()).toBe(1);
    expect(b.inFlight.count(first.endpointId)).toBe(0);
  });

  for (const strategy of ["kv-aware", "cache-aware"]) {
    it(`${strategy}: the next turn of a conversation routed on the other replica lands on the same endpoint`, async () => {
      const { a, b } = pair(strategy);
      const topics = ["billing", "shipping", "returns", "warranty", "accounts", "invoices"];
      const firstTurns = topics.map((topic) => {
        const [prompt] = conversation(topic, 1);
        const turn = a.route(prompt, Math.ceil(prompt!.length / 4));
        a.report(turn.requestId);
        return turn;
      });
      // Cold prompts spread: several endpoints hold conversations, so landing right is not luck.
      expect(new Set(firstTurns.map((turn) => turn.endpointId)).size).toBeGreaterThan(1);
      await waitFor(async () => (await b.applied()) === topics.length * 2, {
        message: "b to apply a's turns",
      });
      topics.forEach((topic, index) => {
        const [, next] = conversation(topic, 2);
        const turn = b.route(next, Math.ceil(next!.length / 4));
        b.report(turn.requestId);
        expect(turn.endpointId, topic).toBe(firstTurns[index]!.endpointId);
        expect(turn.response.reason).toMatch(
          strategy === "kv-aware" ? /cached \d+\/\d+ tokens/ : /prefix match/,
        );
      });
    });
  }
});
