/**
 * RouterSync over the in-process bus: how events are coalesced and numbered, what a batch carries,
 * and how a receiver applies, skips and counts them.
 */
import { type Bus, createMemoryBus, Registry } from "@strata/kit";
import { waitFor } from "@strata/kit/testing";
import { routerSyncSubject, type routerSyncV1, routerV1 } from "@strata/proto";
import { afterEach, describe, expect, it } from "vitest";
import type { RoutingReport, RoutingRequest } from "../src/scoring/strategy.js";
import { RouterSync, type RouterSyncOptions } from "../src/sync/router-sync.js";
import { cutPrompt, decodeBatch, encodeBatch, originPrefix, startsWith } from "../src/sync/sync-codec.js";
import { createSyncMetrics } from "../src/sync/sync-metrics.js";
import type { SyncTarget } from "../src/sync/sync-target.js";

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

let groupCount = 0;
/** A fresh group per test, so tests sharing nothing never see each other's batches. */
const uniqueGroup = () => `unit-${process.pid}-${++groupCount}`;

function memoryBus(): Bus {
  const bus = createMemoryBus();
  closers.push(() => bus.close());
  return bus;
}

/** Records what a peer would apply; `serves` decides which endpoints it knows. */
class RecordingTarget implements SyncTarget {
  readonly routed: { request: RoutingRequest; endpointId: string }[] = [];
  readonly reported: { report: RoutingReport; model: string }[] = [];
  constructor(private readonly serves: (endpointId: string) => boolean = () => true) {}
  applyRouted(request: RoutingRequest, endpointId: string): boolean {
    if (!this.serves(endpointId)) return false;
    this.routed.push({ request, endpointId });
    return true;
  }
  applyReported(report: RoutingReport, model: string): boolean {
    this.reported.push({ report, model });
    return true;
  }
}

function replica(bus: Pick<Bus, "broadcast" | "subscribe">, options: Partial<RouterSyncOptions> = {}) {
  const registry = new Registry();
  const target = options.target ?? new RecordingTarget();
  const sync = new RouterSync({
    bus,
    target,
    metrics: createSyncMetrics(registry),
    flushIntervalMs: 1,
    ...options,
  }).start();
  closers.push(() => sync.close());
  const metric = async (line: string) => {
    const text = await registry.metrics();
    const found = text.split("\n").find((candidate) => candidate.startsWith(`${line} `));
    return found === undefined ? 0 : Number(found.slice(line.length + 1));
  };
  return { sync, target: target as RecordingTarget, registry, metric };
}

/** Every batch broadcast on the group's subject, decoded. */
function tap(bus: Bus, group: string): routerSyncV1.SyncBatch[] {
  const batches: routerSyncV1.SyncBatch[] = [];
  const subscription = bus.subscribe(routerSyncSubject(group), (_subject, data) =>
    batches.push(decodeBatch(data)),
  );
  closers.push(() => subscription.stop());
  return batches;
}

let requestCount = 0;
function request(prompt = "You are a helpful assistant. ".repeat(8), extra: Partial<RoutingRequest> = {}) {
  return {
    requestId: `sync-unit-${++requestCount}`,
    model: "llama",
    tenantId: "t1",
    prompt,
    promptTokens: 50,
    ...extra,
  } satisfies RoutingRequest;
}

function report(requestId: string, extra: Partial<RoutingReport> = {}): RoutingReport {
  return { requestId, endpointId: "e1", promptTokens: 50, cachedTokens: 32, outcome: "success", ...extra };
}

describe("RouterSync batching", () => {
  it("coalesces events queued within the flush interval into one numbered batch, in order", async () => {
    const bus = memoryBus();
    const group = uniqueGroup();
    const batches = tap(bus, group);
    const { sync, metric } = replica(bus, { group, flushIntervalMs: 30, replicaId: "a" });
    const first = request();
    const second = request();
    sync.routed(first, "e1");
    sync.routed(second, "e2");
    sync.reported(report(first.requestId), "llama");
    await waitFor(() => batches.length === 1, { message: "the batch" });
    sync.routed(request(), "e1");
    await waitFor(() => batches.length === 2, { message: "the second batch" });

    const [batch, next] = batches as [routerSyncV1.SyncBatch, routerSyncV1.SyncBatch];
    expect(batch.originReplicaId).toBe("a");
    expect(batch.firstSequence).toBe(1n);
    expect(batch.events.map((event) => [event.kind.case, event.kind.value?.requestId])).toEqual([
      ["routed", first.requestId],
      ["routed", second.requestId],
      ["reported", first.requestId],
    ]);
    expect(next.firstSequence).toBe(4n);
    expect(next.originStartedAtMs).toBe(batch.originStartedAtMs);
    expect(await metric('strata_router_sync_published_total{kind="routed"}')).toBe(3);
    expect(await metric('strata_router_sync_published_total{kind="reported"}')).toBe(1);
    expect(await metric("strata_router_sync_published_batches_total")).toBe(2);
  });

  it("never broadcasts inside routed(): the Route path only queues", () => {
    let broadcasts = 0;
    const bus = { broadcast: () => void broadcasts++, subscribe: () => ({ stop() {} }) };
    const { sync } = replica(bus, { flushIntervalMs: 0, maxBatch: 1 });
    for (let index = 0; index < 5; index++) sync.routed(request(), "e1");
    expect(broadcasts).toBe(0);
    sync.flush();
    expect(broadcasts).toBe(5);
  });

  it("sends a full batch on the next tick instead of waiting out the interval, split at maxBatch", async () => {
    const bus = memoryBus();
    const group = uniqueGroup();
    const batches = tap(bus, group);
    const { sync } = replica(bus, { group, flushIntervalMs: 60_000, maxBatch: 4 });
    for (let index = 0; index < 10; index++) sync.routed(request(), "e1");
    await waitFor(() => batches.length === 3, { timeoutMs: 5_000, message: "three batches" });
    expect(batches.map((batch) => [Number(batch.firstSequence), batch.events.length])).toEqual([
      [1, 4],
      [5, 4],
      [9, 2],
    ]);
  });

  it("sends what is queued on close and ignores events after it", async () => {
    const bus = memoryBus();
    const group = uniqueGroup();
    const batches = tap(bus, group);
    const { sync } = replica(bus, { group, flushIntervalMs: 60_000 });
    sync.routed(request(), "e1");
    sync.close();
    sync.routed(request(), "e1");
    await waitFor(() => batches.length === 1, { message: "the final batch" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(batches).toHaveLength(1);
    expect(batches[0]!.events).toHaveLength(1);
  });

  it("counts a batch the bus refuses as dropped, never throws, and leaves no gap in the numbering", async () => {
    let refuse = true;
    const memory = memoryBus();
    const group = uniqueGroup();
    const batches = tap(memory, group);
    const bus: Pick<Bus, "broadcast" | "subscribe"> = {
      broadcast: (subject, data) => {
        if (refuse) throw new Error("connection closed");
        memory.broadcast(subject, data);
      },
      subscribe: (subject, handler) => memory.subscribe(subject, handler),
    };
    const { sync, metric } = replica(bus, { group, flushIntervalMs: 0 });
    sync.routed(request(), "e1");
    sync.routed(request(), "e1");
    expect(() => sync.flush()).not.toThrow();
    expect(await metric('strata_router_sync_dropped_total{reason="publish_failed"}')).toBe(2);
    refuse = false;
    sync.routed(request(), "e1");
    sync.flush();
    await waitFor(() => batches.length === 1, { message: "the batch after the failure" });
    expect(batches[0]!.firstSequence).toBe(1n);
  });
});

describe("RouterSync codec", () => {
  it("carries what the strategies' hooks need, with the prompt cut at maxPromptChars", () => {
    const prompt = `${"a".repeat(9)}😀tail`; // the emoji's surrogate pair spans characters 10 and 11
    const header = { originReplicaId: "r", originStartedAtMs: 5, firstSequence: 7, oldestEventAtMs: 6 };
    const data = encodeBatch(
      header,
      [
        { request: request(prompt, { adapter: "sql-lora", promptTokens: 12 }), endpointId: "e9" },
        { report: report("x", { outcome: "connect-error", cachedTokens: 0 }), model: "llama" },
      ],
      10,
    );
    const batch = decodeBatch(data);
    const [routed, reported] = batch.events.map((event) => event.kind);
    expect(routed).toMatchObject({
      case: "routed",
      value: { prompt: "a".repeat(9), promptChars: prompt.length, adapter: "sql-lora", endpointId: "e9" },
    });
    expect(reported).toMatchObject({
      case: "reported",
      value: { requestId: "x", model: "llama", outcome: routerV1.Outcome.CONNECT_ERROR, cachedTokens: 0 },
    });
    expect(cutPrompt("short", 10)).toBe("short");
    // Own batches are recognised by their leading bytes; an id that merely starts alike is not.
    expect(startsWith(data, originPrefix("r"))).toBe(true);
    expect(startsWith(data, originPrefix("r2"))).toBe(false);
    expect(startsWith(encodeBatch({ ...header, originReplicaId: "r2" }, [], 10), originPrefix("r"))).toBe(
      false,
    );
    expect(() => decodeBatch(new Uint8Array([0xff, 0xff, 0xff]))).toThrow();
  });
});

describe("RouterSync receiving", () => {
  it("applies a peer's events to its target in order and skips its own", async () => {
    const bus = memoryBus();
    const group = uniqueGroup();
    const a = replica(bus, { group, replicaId: "a" });
    const b = replica(bus, { group, replicaId: "b" });
    const routed = request("x".repeat(200), { adapter: "lora-1" });
    a.sync.routed(routed, "e1");
    a.sync.reported(report(routed.requestId, { endpointId: "e1" }), "llama");
    await waitFor(() => b.target.reported.length === 1, { message: "b to apply a's events" });
    expect(b.target.routed).toEqual([{ request: routed, endpointId: "e1" }]);
    expect(b.target.reported).toEqual([
      { report: report(routed.requestId, { endpointId: "e1" }), model: "llama" },
    ]);
    expect(a.target.routed).toEqual([]);
    expect(await b.metric('strata_router_sync_applied_total{kind="routed"}')).toBe(1);
    expect(await b.metric('strata_router_sync_applied_total{kind="reported"}')).toBe(1);
    expect(await b.metric("strata_router_sync_apply_lag_seconds_count")).toBe(1);
    expect(await a.metric("strata_router_sync_apply_lag_seconds_count")).toBe(0);
  });

  it("counts events missing from a peer's numbering, but not those before it listened or across a restart", async () => {
    const bus = memoryBus();
    const group = uniqueGroup();
    const b = replica(bus, { group, replicaId: "b" });
    const send = (startedAt: number, firstSequence: number, events: number) =>
      bus.broadcast(
        routerSyncSubject(group),
        encodeBatch(
          { originReplicaId: "p", originStartedAtMs: startedAt, firstSequence, oldestEventAtMs: Date.now() },
          Array.from({ length: events }, () => ({ request: request(), endpointId: "e1" })),
          1_000,
        ),
      );
    send(100, 41, 2); // first heard: 41..42, earlier events are not a loss
    send(100, 43, 1);
    send(100, 47, 1); // 44..46 missed
    send(200, 1, 1); // restarted
    bus.broadcast(routerSyncSubject(group), new Uint8Array([0xff, 0xff]));
    await waitFor(() => b.target.routed.length === 5, { message: "five applied" });
    await waitFor(
      async () => (await b.metric('strata_router_sync_dropped_total{reason="undecodable"}')) === 1,
    );
    expect(await b.metric('strata_router_sync_dropped_total{reason="missed"}')).toBe(3);
  });

  it("counts events for endpoints it does not serve, and failing hooks, without stopping", async () => {
    const bus = memoryBus();
    const group = uniqueGroup();
    const a = replica(bus, { group });
    const failing: SyncTarget = {
      applyRouted: (_request, endpointId) => {
        if (endpointId === "boom") throw new Error("hook failed");
        return endpointId !== "elsewhere";
      },
      applyReported: () => true,
    };
    const b = replica(bus, { group, target: failing });
    a.sync.routed(request(), "elsewhere");
    a.sync.routed(request(), "boom");
    a.sync.routed(request(), "e1");
    await waitFor(async () => (await b.metric('strata_router_sync_applied_total{kind="routed"}')) === 1);
    expect(await b.metric('strata_router_sync_dropped_total{reason="unknown_endpoint"}')).toBe(1);
    expect(await b.metric('strata_router_sync_dropped_total{reason="apply_failed"}')).toBe(1);
  });

  it("scales a cut prompt's reported tokens to the characters the peer saw", async () => {
    const bus = memoryBus();
    const group = uniqueGroup();
    const a = replica(bus, { group, maxPromptChars: 100 });
    const b = replica(bus, { group });
    const long = request("y".repeat(400), { promptTokens: 100 });
    a.sync.routed(long, "e1");
    a.sync.reported(report(long.requestId, { promptTokens: 100, cachedTokens: 20 }), "llama");
    await waitFor(() => b.target.reported.length === 1, { message: "the report" });
    expect(b.target.routed[0]!.request.prompt).toHaveLength(100);
    // 100 of 400 characters seen: the 100 prompt tokens become 25, so 20 cached tokens still mean
    // 20 × 400 / 100 = 80 characters.
    expect(b.target.reported[0]!.report).toMatchObject({ promptTokens: 25, cachedTokens: 20 });
  });
});
