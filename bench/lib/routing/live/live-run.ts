/**
 * One real-time run: fresh router process(es) with the strategy under test in front of the engine
 * fleet, the long-lived gateway process(es) reconnected to them, then the workload replayed open-loop
 * through the gateways' OpenAI API with streaming. Every number comes from outside the code under
 * test's own bookkeeping: hit rate from the engines' prefix-cache counters (the change over the run),
 * TTFT and throughput at the client, queues from the engines' gauges, decision time from the router's
 * histogram.
 *
 * The engines outlive the run, but no run inherits another's cache: each run prefixes every prompt
 * with its own tag, so nothing cached before can match (every block hash chains from the first
 * block), and the stale blocks are simply evicted as the run needs space, as free blocks of a cold
 * engine are taken. Restarting four engine processes per run would cost more than the run itself on
 * a small machine.
 */
import type { ChatMessage } from "@strata/engine-sim";
import { percentile } from "../percentile.js";
import type { Workload } from "../workloads.js";
import type { EngineFleet } from "./engine-fleet.js";
import type { GatewayHost } from "./gateway-host.js";
import type { LiveSetup } from "./live-setup.js";
import {
  type EngineCounters,
  engineCounters,
  type HistogramSnapshot,
  histogram,
  histogramDelta,
  histogramQuantile,
  histogramSum,
  scalarSum,
} from "./metrics-scrape.js";
import { imbalance, QueueSampler } from "./queue-sampler.js";
import type { ReplayClient, ReplayPlan, ReplayRecord } from "./replay.js";
import { routerConfig } from "./router-config.js";
import { type RouterProcess, startRouterProcess } from "./router-process.js";

export interface LiveRunInput {
  setup: LiveSetup;
  model: string;
  strategy: string;
  workload: Workload;
  fleet: EngineFleet;
  /** A word unique to this run, put before every prompt so no earlier run's cache matches. */
  tag: string;
  /** One gateway per router; requests alternate between them. */
  gateways: readonly GatewayHost[];
  /** The gRPC port each gateway's router listens on, in the same order. */
  routerPorts: readonly number[];
  sync?: { natsUrl: string; group: string };
  replay: ReplayClient;
  /** Told how long each phase took (start-up, replay, shut-down), for the progress log. */
  onPhase?: (phase: string, ms: number) => void;
}

export interface LiveMetrics {
  requests: number;
  /** Requests that did not stream an answer (non-200, error event, timeout). */
  failed: number;
  hit_rate: number;
  ttft_p50_ms: number;
  ttft_p90_ms: number;
  ttft_p99_ms: number;
  output_tokens_per_s: number;
  imbalance: number;
  decision_p50_ms: number;
  decision_p99_ms: number;
  /** Route decisions the routers' histograms counted during the replay (should equal requests). */
  decisions: number;
  /** How late the load generator sent requests (p99): large values mean the client, not the server, lagged. */
  send_lag_p99_ms: number;
  /**
   * Mean TTFT at the client, and as the engines measured it (model time × time scale): the gap is what
   * the gateway, router, network and a busy machine add on top of the engines' queueing and prefill.
   */
  ttft_mean_ms: number;
  engine_ttft_mean_ms: number;
  /** Requests per replica, from the gateway's x-strata-route header. */
  placement: Record<string, number>;
  /** Peer decisions the routers applied from NATS (two routers with sync only). */
  sync_applied?: number;
}

const routeHistogram = "strata_router_route_duration_seconds";
const syncApplied = "strata_router_sync_applied_total";

export async function liveRun(input: LiveRunInput): Promise<LiveMetrics> {
  const { setup, fleet } = input;
  const phase = phaseTimer(input.onPhase);
  const routers: RouterProcess[] = [];
  try {
    const config = routerConfig({
      strategy: input.strategy,
      model: input.model,
      endpoints: fleet.endpoints,
      kvCapacityTokens: setup.engine.kvCapacityBlocks * setup.engine.blockSize,
      scrapeIntervalMs: setup.scrapeIntervalMs,
      sync: input.sync,
    });
    const starting = await Promise.allSettled(
      input.routerPorts.map((port) => startRouterProcess(config, port)),
    );
    for (const result of starting) if (result.status === "fulfilled") routers.push(result.value);
    const failed = starting.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    phase("routers");
    for (const gateway of input.gateways) await waitUntilRouting(gateway, input.model);
    phase("reconnect");
    const metrics = await measure(input, fleet, routers);
    phase("replay");
    return metrics;
  } finally {
    await Promise.all(routers.map((router) => router.stop()));
    phase("stop");
  }
}

function phaseTimer(onPhase: LiveRunInput["onPhase"]): (name: string) => void {
  let since = performance.now();
  return (name) => {
    const now = performance.now();
    onPhase?.(name, now - since);
    since = now;
  };
}

async function measure(
  input: LiveRunInput,
  fleet: EngineFleet,
  routers: RouterProcess[],
): Promise<LiveMetrics> {
  const engineUrls = fleet.endpoints.map((endpoint) => endpoint.url);
  const before = await snapshot(engineUrls, routers);
  const plan = replayPlan(input);
  const lastArrival = input.workload.requests.at(-1)?.arrivalMs ?? 0;
  const sampler = new QueueSampler(
    engineUrls,
    { from: plan.startAtEpochMs, to: plan.startAtEpochMs + lastArrival },
    input.setup.sampleIntervalMs,
  );
  let records: ReplayRecord[];
  let queues: number[];
  try {
    records = await input.replay.run(plan);
  } finally {
    queues = await sampler.stop();
  }
  const after = await snapshot(engineUrls, routers);
  const applied = input.sync
    ? (await Promise.all(routers.map((router) => scalarSum(router.metricsUrl, syncApplied)))).reduce(
        (sum, count) => sum + count,
        0,
      )
    : undefined;
  return {
    ...clientMetrics(records, input.workload),
    ...serverMetrics(before, after, input.setup.timeScale),
    imbalance: imbalance(queues),
    ...(applied === undefined ? {} : { sync_applied: applied }),
  };
}

/** The services' own counters at one moment: each engine's, and each router's decision histogram. */
interface Snapshot {
  engines: EngineCounters[];
  decisions: HistogramSnapshot[];
}

async function snapshot(engineUrls: readonly string[], routers: readonly RouterProcess[]): Promise<Snapshot> {
  const [engines, decisions] = await Promise.all([
    Promise.all(engineUrls.map(engineCounters)),
    Promise.all(routers.map((router) => histogram(router.metricsUrl, routeHistogram))),
  ]);
  return { engines, decisions };
}

/** What the engines and routers counted between two snapshots. */
function serverMetrics(before: Snapshot, after: Snapshot, timeScale: number) {
  const change = (pick: (counters: EngineCounters) => number) =>
    after.engines.reduce((sum, counters, index) => sum + pick(counters) - pick(before.engines[index]!), 0);
  const queried = change((counters) => counters.queried);
  const hits = change((counters) => counters.hits);
  // The engines' TTFT is model time; × time scale makes it wall-clock ms, comparable with the client's.
  const engineTtftSeconds = change((counters) => counters.ttftSeconds);
  const engineTtftCount = change((counters) => counters.ttftCount);
  const decisions = histogramSum(
    after.decisions.map((snapshot, index) => histogramDelta(snapshot, before.decisions[index]!)),
  );
  return {
    hit_rate: queried === 0 ? 0 : hits / queried,
    engine_ttft_mean_ms: (engineTtftSeconds * 1000 * timeScale) / Math.max(1, engineTtftCount),
    decision_p50_ms: histogramQuantile(0.5, decisions) * 1000,
    decision_p99_ms: histogramQuantile(0.99, decisions) * 1000,
    decisions: decisions.count,
  };
}

/** The workload as HTTP requests: the same messages and answer length, alternating between gateways. */
function replayPlan(input: LiveRunInput): ReplayPlan {
  return {
    // Far enough ahead for the worker to receive and schedule the plan.
    startAtEpochMs: Date.now() + 500,
    targets: input.gateways.map((gateway) => ({ url: gateway.url, apiKey: gateway.apiKey })),
    timeoutMs: input.setup.requestTimeoutMs,
    requests: input.workload.requests.map((request, index) => ({
      id: request.id,
      atMs: request.arrivalMs,
      target: index % input.gateways.length,
      body: JSON.stringify({
        model: input.model,
        messages: tagged(request.messages, input.tag),
        // ignore_eos makes the engine generate exactly max_tokens: the workload's answer length.
        max_tokens: request.outputTokenIds.length,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
      }),
    })),
  };
}

function tagged(messages: readonly ChatMessage[], tag: string): ChatMessage[] {
  const [first, ...rest] = messages as [ChatMessage, ...ChatMessage[]];
  return [{ ...first, content: `${tag} ${first.content as string}` }, ...rest];
}

function clientMetrics(records: readonly ReplayRecord[], workload: Workload) {
  const answered = records.filter(
    (record) => record.status === 200 && !record.error && record.ttftMs !== null,
  );
  const ttft = answered.map((record) => record.ttftMs as number);
  const outputTokens = records.reduce((sum, record) => sum + record.completionTokens, 0);
  const firstArrival = workload.requests[0]?.arrivalMs ?? 0;
  const lastEnd = records.reduce((latest, record) => Math.max(latest, record.endMs), 0);
  const placement: Record<string, number> = {};
  for (const record of records)
    placement[record.endpoint || "none"] = (placement[record.endpoint || "none"] ?? 0) + 1;
  return {
    requests: records.length,
    failed: records.length - answered.length,
    ttft_p50_ms: percentile(ttft, 0.5),
    ttft_p90_ms: percentile(ttft, 0.9),
    ttft_p99_ms: percentile(ttft, 0.99),
    ttft_mean_ms: ttft.reduce((sum, value) => sum + value, 0) / Math.max(1, ttft.length),
    output_tokens_per_s: (outputTokens * 1000) / Math.max(1, lastEnd - firstArrival),
    send_lag_p99_ms: percentile(
      records.map((record) => record.lagMs),
      0.99,
    ),
    placement,
  };
}

/**
 * A small request through the gateway until it answers 200: the router is up, the gateway's channel
 * has reconnected to it, and the engines are healthy in the router's eyes. Runs before the counters'
 * baseline, so it does not count.
 */
async function waitUntilRouting(gateway: GatewayHost, model: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = "";
  while (Date.now() < deadline) {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "ping" }], max_tokens: 1 }),
    }).catch((error: unknown) => ({ ok: false, status: 0, text: async () => String(error) }));
    if (response.ok) return;
    last = `${response.status} ${(await response.text()).slice(0, 200)}`;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`gateway ${gateway.url} did not route within 120 s (last answer: ${last})`);
}
