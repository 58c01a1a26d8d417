/**
 * Two routers booted with run() on one real nats-server and the same engine-sim replicas route as
 * one: a conversation started on one continues on the same replica through the other, in-flight
 * requests of one steer the other's least-load, and a NATS restart costs messages, never a Route.
 */
import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { createGrpcClient, Registry, type ServiceClient, silentLogger } from "@strata/kit";
import { freePort, type NatsServerHandle, startNatsServer, waitFor } from "@strata/kit/testing";
import { routerV1 } from "@strata/proto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RouterConfigInput, run } from "../src/index.js";
import { eventually } from "./support/patient.js";

const model = "sim-llama";
let nats: NatsServerHandle;
const engines: EngineSim[] = [];
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  for (let index = 0; index < 3; index++) {
    engines.push(
      await startEngineSim({ port: 0, host: "127.0.0.1", model, logLevel: "silent", timeScale: 0 }),
    );
  }
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.close()));
  await nats?.stop();
});

interface TestRouter {
  name: string;
  client: ServiceClient<typeof routerV1.RouterService>;
  /** A counter or histogram sample from this router's /metrics, 0 when absent. */
  metric(line: string): Promise<number>;
}

let groupCount = 0;

async function bootRouter(name: string, group: string, overrides: RouterConfigInput): Promise<TestRouter> {
  const registry = new Registry();
  const router = await run(
    {
      grpc: { host: "127.0.0.1", port: 0 },
      ops: { port: 0 },
      endpoints: engines.map((engine, index) => ({ id: `sim-${index}`, url: engine.url, model })),
      health: { intervalMs: 200 },
      natsUrl: nats.url,
      sync: { group, replicaId: `${group}-${name}` },
      ...overrides,
    },
    { logger: silentLogger(), registry },
  );
  const client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${router.grpcPort}`);
  closers.push(
    () => router.close(),
    () => client.close(),
  );
  const metric = async (line: string) => {
    const found = (await registry.metrics()).split("\n").find((text) => text.startsWith(`${line} `));
    return found === undefined ? 0 : Number(found.slice(line.length + 1));
  };
  return { name, client, metric };
}

/** Two routers sharing a fresh group; resolves once B applies what A routes (both are connected). */
async function pair(overrides: RouterConfigInput = {}) {
  const group = `it-${process.pid}-${++groupCount}`;
  const [a, b] = await Promise.all([bootRouter("a", group, overrides), bootRouter("b", group, overrides)]);
  await waitFor(
    async () => {
      const probe = await routeOn(a);
      await reportOn(a, probe.requestId);
      return (await b.metric('strata_router_sync_applied_total{kind="reported"}')) > 0;
    },
    { timeoutMs: 20_000, intervalMs: 50, message: "router b to apply router a's decisions" },
  );
  return { a, b };
}

let requestCount = 0;
async function routeOn(router: TestRouter, prompt = "", promptTokens = 0) {
  const requestId = `sync-it-${++requestCount}`;
  const response = await router.client.route({ requestId, model, tenantId: "t", prompt, promptTokens });
  return { requestId, response, endpointId: response.endpoint!.id };
}

function reportOn(router: TestRouter, requestId: string, usage: { prompt?: number; cached?: number } = {}) {
  return router.client.report({
    requestId,
    outcome: routerV1.Outcome.SUCCESS,
    promptTokens: usage.prompt ?? 0,
    cachedTokens: usage.cached ?? 0,
  });
}

/** Sends the prompt to the engine the router chose and returns the engine's usage. */
async function complete(endpointId: string, prompt: string) {
  const engine = engines[Number(endpointId.replace("sim-", ""))]!;
  const response = await fetch(`${engine.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, prompt, max_tokens: 1 }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as {
    usage: { prompt_tokens: number; prompt_tokens_details?: { cached_tokens: number } | null };
  };
  return { prompt: body.usage.prompt_tokens, cached: body.usage.prompt_tokens_details?.cached_tokens ?? 0 };
}

/** B's in-flight count per endpoint, read from the candidates of a probe it routes and reports at once. */
async function inFlightOn(router: TestRouter): Promise<number[]> {
  const probe = await routeOn(router);
  await reportOn(router, probe.requestId);
  return probe.response.candidates.map((candidate) => candidate.inFlight);
}

/** In-flight counts once two reads 200 ms apart agree (events still on their way have arrived). */
async function settledInFlight(router: TestRouter): Promise<number[]> {
  let previous = await inFlightOn(router);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const current = await inFlightOn(router);
    if (current.join() === previous.join()) return current;
    previous = current;
  }
}

function conversation(topic: string): [string, string] {
  const first = `You are the support assistant for ${topic}. Answer briefly and cite the manual. `.repeat(12);
  return [first, `${first}\nuser: what does the ${topic} section say about refunds?\nassistant:`];
}

describe("router replicas sharing routing state over NATS", () => {
  for (const strategy of ["kv-aware", "cache-aware"]) {
    it(`${strategy}: the next turn sent to router B lands on the replica router A chose`, async () => {
      const { a, b } = await pair({ routing: { defaultStrategy: strategy } });
      const topics = ["billing", "shipping", "returns", "warranty", "accounts", "invoices"];
      const applied = await b.metric('strata_router_sync_applied_total{kind="reported"}');
      const firstTurns = [];
      for (const topic of topics) {
        const [prompt] = conversation(topic);
        const turn = await routeOn(a, prompt, Math.ceil(prompt.length / 4));
        await reportOn(a, turn.requestId, await complete(turn.endpointId, prompt));
        firstTurns.push(turn);
      }
      expect(new Set(firstTurns.map((turn) => turn.endpointId)).size).toBeGreaterThan(1);
      await waitFor(
        async () =>
          (await b.metric('strata_router_sync_applied_total{kind="reported"}')) >= applied + topics.length,
        { timeoutMs: 10_000, message: "b to apply a's turns" },
      );
      for (const [index, topic] of topics.entries()) {
        const [, next] = conversation(topic);
        const turn = await routeOn(b, next, Math.ceil(next.length / 4));
        const usage = await complete(turn.endpointId, next);
        await reportOn(b, turn.requestId, usage);
        expect(turn.endpointId, topic).toBe(firstTurns[index]!.endpointId);
        // The engine confirms it: the first turn's prompt was still in its prefix cache.
        expect(usage.cached, topic).toBeGreaterThan(0);
      }
    });
  }

  it("counts router A's requests in flight on router B, so B's least-load avoids what A loaded", async () => {
    const { a, b } = await pair({ routing: { defaultStrategy: "least-load" } });
    const routed = [];
    for (let index = 0; index < 5; index++) routed.push(await routeOn(a));
    const onA = new Map<string, number>();
    for (const turn of routed) onA.set(turn.endpointId, (onA.get(turn.endpointId) ?? 0) + 1);
    const expected = engines.map((_, index) => onA.get(`sim-${index}`) ?? 0);
    expect([...expected].sort()).toEqual([1, 2, 2]);

    let onB: Awaited<ReturnType<typeof routeOn>> | undefined;
    await eventually(async () => {
      const probe = await routeOn(b);
      const seen = probe.response.candidates.map((candidate) => candidate.inFlight);
      if (seen.join() !== expected.join()) await reportOn(b, probe.requestId);
      expect(seen).toEqual(expected);
      onB = probe;
    });
    // Least-load on B picks the endpoint A loaded least, and A now counts B's request too.
    expect(onB?.endpointId).toBe(`sim-${expected.indexOf(1)}`);
    await eventually(async () => {
      const probe = await routeOn(a);
      await reportOn(a, probe.requestId);
      const candidate = probe.response.candidates.find((entry) => entry.endpointId === onB?.endpointId);
      expect(candidate?.inFlight).toBe(2);
    });

    for (const turn of routed) await reportOn(a, turn.requestId);
    await eventually(async () => {
      const probe = await routeOn(b);
      await reportOn(b, probe.requestId);
      // B's own earlier probe is the only request left in flight.
      expect(probe.response.candidates.reduce((total, candidate) => total + candidate.inFlight, 0)).toBe(1);
    });
  });

  it("keeps routing through a NATS restart, counts what was lost, and syncs again once reconnected", async () => {
    const { a, b } = await pair({ routing: { defaultStrategy: "least-load" } });
    const failures: unknown[] = [];
    let routing = true;
    const loop = (async () => {
      while (routing) {
        try {
          const turn = await routeOn(a);
          await reportOn(a, turn.requestId);
        } catch (error) {
          failures.push(error);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      const appliedBefore = await b.metric('strata_router_sync_applied_total{kind="routed"}');
      await nats.restart();
      await waitFor(async () => (await b.metric('strata_router_sync_dropped_total{reason="missed"}')) > 0, {
        timeoutMs: 30_000,
        intervalMs: 100,
        message: "b to count the events lost in the restart",
      });
      const appliedAfter = await b.metric('strata_router_sync_applied_total{kind="routed"}');
      expect(appliedAfter).toBeGreaterThan(appliedBefore);
    } finally {
      routing = false;
      await loop;
    }
    expect(failures).toEqual([]);
    // Synced again: a request A holds shows up in B's in-flight view. Relative to what B counts once
    // the loop's last events arrived, since a Report lost in the restart leaves an entry until swept.
    const before = await settledInFlight(b);
    const held = await routeOn(a);
    const index = Number(held.endpointId.replace("sim-", ""));
    await eventually(async () => expect((await inFlightOn(b))[index]).toBe(before[index]! + 1), {
      timeoutMs: 20_000,
    });
  });

  it("starts and routes alone when NATS is unreachable, counting what it could not share", async () => {
    const group = `it-${process.pid}-${++groupCount}`;
    const lonely = await bootRouter("lonely", group, { natsUrl: `nats://127.0.0.1:${await freePort()}` });
    const turn = await routeOn(lonely);
    expect(turn.endpointId).toMatch(/^sim-/);
    await reportOn(lonely, turn.requestId);
    await waitFor(
      async () => (await lonely.metric('strata_router_sync_dropped_total{reason="publish_failed"}')) === 2,
      { message: "the unshared events to be counted" },
    );
  });
});
