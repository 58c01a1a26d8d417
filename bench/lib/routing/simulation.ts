/**
 * The discrete-event simulation: N engine-sim `EngineModel`s (real prefix cache with LRU eviction,
 * continuous-batching scheduler, prefill/decode timing) and one or more router replicas, all driven by
 * one virtual clock. Each step processes the earliest pending event — an engine's next token, a peer
 * router's shared decision, a metrics scrape, a queue sample or a request arrival — so nothing sleeps
 * and a run is deterministic apart from the measured decision latency.
 */
import { type EngineListener, EngineModel, type EngineModelConfig } from "@strata/engine-sim";
import { percentile } from "./percentile.js";
import type { RoutingRequest } from "./router-api.js";
import { type ReplicaView, type SimRouter, simModel } from "./sim-router.js";
import type { SimRequest } from "./workloads.js";

export interface SimOptions {
  replicas: number;
  engine: Partial<EngineModelConfig>;
  /** How often the routers see fresh engine metrics (waiting, running, KV usage). */
  scrapeIntervalMs: number;
  /** How often each replica's queue (waiting + running) is sampled for the imbalance metric. */
  sampleIntervalMs: number;
  /** Delay before a router's decision reaches its peers (the NATS hop). */
  peerDelayMs: number;
  /** Extra engine listeners per endpoint (e.g. KV block events for the precise index). */
  engineListener?: (endpointId: string) => EngineListener;
  /** Set to the virtual time before every event, for strategies that read a clock (StrategyDeps.now). */
  clock?: { now: number };
}

export interface RunMetrics {
  requests: number;
  hit_rate: number;
  ttft_p50_ms: number;
  ttft_p90_ms: number;
  ttft_p99_ms: number;
  output_tokens_per_s: number;
  imbalance: number;
  decision_p50_ms: number;
  decision_p99_ms: number;
  /** Share of the replicas' prefill lanes busy over the arrival window: the offered load. */
  prefill_utilization: number;
  preemptions: number;
}

interface Replica extends ReplicaView {
  model: EngineModel;
  queueSamples: number;
  prefillMs: number;
}

interface PeerUpdate {
  at: number;
  router: SimRouter;
  request: RoutingRequest;
  endpointId: string;
}

/**
 * Forwards every callback either listener has, including ones this file does not know (engine-sim's
 * listener grows: KV block events for the precise index), to both, ours first.
 */
export function bothListeners(first: EngineListener, second: EngineListener): EngineListener {
  const combined: Record<string, (...args: unknown[]) => void> = {};
  const keys = new Set([...Object.keys(first), ...Object.keys(second)]);
  for (const key of keys) {
    const calls = [first, second]
      .map((listener) => (listener as Record<string, unknown>)[key])
      .filter((value): value is (...args: unknown[]) => void => typeof value === "function");
    combined[key] = (...args) => {
      for (const call of calls) call(...args);
    };
  }
  return combined as EngineListener;
}

export function replicaIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `replica-${index}`);
}

export function simulate(
  requests: readonly SimRequest[],
  routers: SimRouter[],
  options: SimOptions,
): RunMetrics {
  const routedBy = new Map<string, SimRouter>();
  const ttft: number[] = [];
  let cachedTokens = 0;
  let queriedTokens = 0;
  let outputTokens = 0;
  let lastFinish = 0;

  const replicas: Replica[] = replicaIds(options.replicas).map((id) => {
    const replica = {
      id,
      kvCapacityTokens: (options.engine.kvCapacityBlocks ?? 0) * (options.engine.blockSize ?? 0),
      scraped: { waiting: 0, running: 0, kvCacheUsage: 0 },
      queueSamples: 0,
      prefillMs: 0,
    } as Replica;
    const config = { ...options.engine };
    const own: EngineListener = {
      onAdmitted: (_sequence, _now, cached, queried) => {
        cachedTokens += cached;
        queriedTokens += queried;
        const { prefillOverheadMs, prefillMsPerToken } = replica.model.config;
        replica.prefillMs += prefillOverheadMs + (queried - cached) * prefillMsPerToken;
      },
      onToken: (sequence, index, now) => {
        outputTokens++;
        if (index === 0) ttft.push(now - sequence.arrivalAt);
      },
      onFinished: (sequence, now) => {
        lastFinish = Math.max(lastFinish, now);
        const { id, promptTokenIds } = sequence.request;
        routedBy.get(id)?.report(id, promptTokenIds.length, sequence.cachedTokens ?? 0, {
          timeToFirstTokenMs: (sequence.firstTokenAt ?? now) - sequence.arrivalAt,
          latencyMs: now - sequence.arrivalAt,
        });
        routedBy.delete(id);
      },
    };
    const extra = options.engineListener?.(id);
    replica.model = new EngineModel(config, extra ? bothListeners(own, extra) : own);
    return replica;
  });

  const peerUpdates: PeerUpdate[] = [];
  let peerHead = 0;
  let arrivalIndex = 0;
  let nextScrape = 0;
  let nextSample = 0;
  let samples = 0;
  const lastArrival = requests[requests.length - 1]?.arrivalMs ?? 0;

  for (;;) {
    const arrival = requests[arrivalIndex];
    const nextArrival = arrival?.arrivalMs ?? Number.POSITIVE_INFINITY;
    const nextPeer = peerUpdates[peerHead]?.at ?? Number.POSITIVE_INFINITY;
    let nextEngine = Number.POSITIVE_INFINITY;
    for (const replica of replicas)
      nextEngine = Math.min(nextEngine, replica.model.nextEventTime() ?? nextEngine);
    const nextWork = Math.min(nextArrival, nextPeer, nextEngine);
    if (nextWork === Number.POSITIVE_INFINITY) break;
    const now = Math.min(nextWork, nextScrape, nextSample);
    if (options.clock) options.clock.now = now;

    if (nextEngine === now) {
      for (const replica of replicas) if (replica.model.nextEventTime() === now) replica.model.advanceTo(now);
    } else if (nextPeer === now) {
      const update = peerUpdates[peerHead++] as PeerUpdate;
      update.router.peerRouted(update.request, update.endpointId);
    } else if (nextScrape === now) {
      for (const replica of replicas) {
        const snapshot = replica.model.snapshot();
        replica.scraped = {
          waiting: snapshot.waiting,
          running: snapshot.running,
          kvCacheUsage: snapshot.kvUsage,
        };
      }
      nextScrape += options.scrapeIntervalMs;
    } else if (nextSample === now) {
      if (now <= lastArrival) {
        for (const replica of replicas) {
          const snapshot = replica.model.snapshot();
          replica.queueSamples += snapshot.waiting + snapshot.running;
        }
        samples++;
      }
      nextSample += options.sampleIntervalMs;
    } else if (arrival) {
      arrivalIndex++;
      const router = routers[arrivalIndex % routers.length] as SimRouter;
      const request: RoutingRequest = {
        requestId: arrival.id,
        model: simModel,
        tenantId: arrival.tenantId,
        prompt: arrival.prompt,
        promptTokens: arrival.promptTokenIds.length,
      };
      const replica = replicas[router.route(request, replicas)] as Replica;
      routedBy.set(arrival.id, router);
      for (const peer of routers) {
        if (peer === router) continue;
        peerUpdates.push({ at: now + options.peerDelayMs, router: peer, request, endpointId: replica.id });
      }
      replica.model.submit(
        {
          id: arrival.id,
          promptTokenIds: arrival.promptTokenIds,
          outputTokenIds: arrival.outputTokenIds,
          finishReason: "stop",
        },
        now,
      );
    }
  }

  const decisions = routers.flatMap((router) => router.decisionMs);
  const queues = replicas.map((replica) => replica.queueSamples / Math.max(1, samples));
  const meanQueue = queues.reduce((sum, queue) => sum + queue, 0) / queues.length;
  const firstArrival = requests[0]?.arrivalMs ?? 0;
  const window = Math.max(1, lastArrival - firstArrival);
  const prefillMs = replicas.reduce((sum, replica) => sum + replica.prefillMs, 0);
  return {
    requests: requests.length,
    hit_rate: queriedTokens === 0 ? 0 : cachedTokens / queriedTokens,
    ttft_p50_ms: percentile(ttft, 0.5),
    ttft_p90_ms: percentile(ttft, 0.9),
    ttft_p99_ms: percentile(ttft, 0.99),
    output_tokens_per_s: (outputTokens * 1000) / Math.max(1, lastFinish - firstArrival),
    imbalance: meanQueue === 0 ? 1 : Math.max(...queues) / meanQueue,
    decision_p50_ms: percentile(decisions, 0.5),
    decision_p99_ms: percentile(decisions, 0.99),
    prefill_utilization: prefillMs / (window * replicas.length),
    preemptions: replicas.reduce((sum, replica) => sum + replica.model.snapshot().preemptions, 0),
  };
}
