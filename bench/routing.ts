/**
 * How well does each routing strategy place requests? Harness 1: a discrete-event simulation in
 * virtual time. The router's real strategies decide for every request against simulated engine
 * replicas that use engine-sim's own prefix cache and scheduler (see lib/routing/simulation.ts), on
 * four seeded workloads; plus two router replicas sharing decisions, and a decision-latency
 * micro-benchmark at 64 endpoints and 100k tracked blocks.
 */
import { DEFAULT_ENGINE_MODEL_CONFIG, type EngineModelConfig } from "@strata/engine-sim";
import { environment, readJson, updateResultsMarkdown, writeJson } from "./lib/report.js";
import { type LowerBound, ttftLowerBound } from "./lib/routing/lower-bound.js";
import { decisionMicroBenchmark } from "./lib/routing/micro.js";
import { type RoutingReport, routingSection } from "./lib/routing/report.js";
import { SimRouter } from "./lib/routing/sim-router.js";
import {
  bothListeners,
  type RunMetrics,
  replicaIds,
  type SimOptions,
  simulate,
} from "./lib/routing/simulation.js";
import { planStrategies, type StrategyBuild } from "./lib/routing/strategies.js";
import { buildWorkload, type WorkloadName, workloadNames } from "./lib/routing/workloads.js";

const durationS = Number(process.env.BENCH_ROUTING_DURATION_S ?? 60);
const onlyWorkloads = process.env.BENCH_ROUTING_WORKLOADS?.split(",");
const onlyStrategies = process.env.BENCH_ROUTING_STRATEGIES?.split(",");
const seed = Number(process.env.BENCH_ROUTING_SEED ?? 1);

/**
 * Each replica holds 4096 blocks × 16 tokens = 64k tokens of KV: about a third of shared-context's
 * documents, a fraction of multi-turn's live histories. Prefill runs at engine-sim's default 0.1 ms per
 * token (+ 5 ms) on one lane per replica, so an uncached 3000-token document costs ~300 ms and a cached
 * one ~5 ms: placement decides queueing.
 */
const engine: Partial<EngineModelConfig> = {
  blockSize: 16,
  kvCapacityBlocks: 4096,
  maxNumSeqs: 64,
};

export const simOptions: SimOptions = {
  replicas: 8,
  engine,
  scrapeIntervalMs: 1000,
  sampleIntervalMs: 100,
  peerDelayMs: 2,
};

/** One simulated run; the real-time harness reuses it (with its own options) as its prediction. */
export function runSimulation(
  build: StrategyBuild,
  workload: ReturnType<typeof buildWorkload>,
  routerCount = 1,
  options: SimOptions = simOptions,
): RunMetrics {
  const clock = { now: 0 };
  const instances = Array.from({ length: routerCount }, () => build.create(() => clock.now));
  const ids = replicaIds(options.replicas);
  const routers = instances.map((instance) => new SimRouter(instance.strategy, ids));
  // A precise index subscribes to every engine's KV events; one subscriber per router instance.
  const listeners = instances.flatMap((instance) =>
    instance.engineListener ? [instance.engineListener] : [],
  );
  const engineListener =
    listeners.length === 0
      ? undefined
      : (id: string) => listeners.map((listener) => listener(id)).reduce(bothListeners);
  return simulate(workload.requests, routers, { ...options, engineListener, clock });
}

export async function main(): Promise<void> {
  const started = performance.now();
  const plan = planStrategies();
  const strategies = plan.runnable.filter((build) => !onlyStrategies || onlyStrategies.includes(build.name));
  for (const { name, reason } of plan.skipped) console.log(`skipping ${name}: ${reason}`);
  const results: Record<string, Record<string, RunMetrics>> = {};
  const workloads: RoutingReport["workloads"] = {};
  for (const name of workloadNames) {
    if (onlyWorkloads && !onlyWorkloads.includes(name)) continue;
    const workload = buildWorkload(name, durationS, seed);
    workloads[name] = {
      shape: workload.shape,
      rate_per_s: workload.ratePerS,
      requests: workload.requests.length,
      lower_bound: ttftLowerBound(workload.requests, {
        ...DEFAULT_ENGINE_MODEL_CONFIG,
        ...simOptions.engine,
      }),
    };
    logBound(name, workloads[name].lower_bound as LowerBound);
    const byStrategy: Record<string, RunMetrics> = {};
    for (const build of strategies) {
      const runStarted = performance.now();
      byStrategy[build.name] = runSimulation(build, workload);
      log(name, build.name, byStrategy[build.name] as RunMetrics, runStarted);
    }
    const kvAware = strategies.find((build) => build.name === "kv-aware");
    if (kvAware && twoRouterWorkloads.includes(name)) {
      const runStarted = performance.now();
      byStrategy["two-routers"] = runSimulation(kvAware, workload, 2);
      log(name, "two-routers", byStrategy["two-routers"] as RunMetrics, runStarted);
    }
    results[name] = byStrategy;
  }
  const micro = decisionMicroBenchmark(strategies);
  for (const entry of micro) console.log(`micro ${JSON.stringify(entry)}`);
  const runtimeS = (performance.now() - started) / 1000;
  const report: RoutingReport & { benchmark: string; harness: string } = {
    benchmark: "routing",
    harness: "discrete-event simulation (virtual time)",
    environment: environment(),
    runtime_s: Number(runtimeS.toFixed(1)),
    setup: {
      ...simOptions,
      engine: { ...DEFAULT_ENGINE_MODEL_CONFIG, ...simOptions.engine },
      duration_s: durationS,
      seed,
    },
    workloads,
    skipped: plan.skipped,
    results,
    decision_micro: micro,
  };
  // The real-time run (`pnpm bench routing-live`) keeps its results in the same file under `live`.
  const previous = (await readJson("routing")) as { live?: unknown } | undefined;
  const file = await writeJson("routing", { ...report, ...(previous?.live ? { live: previous.live } : {}) });
  const markdown = await updateResultsMarkdown("routing", routingSection(report));
  console.log(`wrote ${file} and ${markdown} in ${runtimeS.toFixed(1)} s`);
}

const twoRouterWorkloads: readonly WorkloadName[] = ["multi-turn", "shared-context"];

function logBound(workload: string, bound: LowerBound): void {
  const ttft = `${bound.ttft_p50_ms.toFixed(0)}/${bound.ttft_p90_ms.toFixed(0)}/${bound.ttft_p99_ms.toFixed(0)} ms`;
  console.log(
    `${workload.padEnd(14)} ${"lower bound".padEnd(12)} hit ${(bound.hit_rate * 100).toFixed(1)}% · ttft p50/p90/p99 ${ttft}`,
  );
}

function log(workload: string, strategy: string, metrics: RunMetrics, since: number): void {
  const fields = [
    `hit ${(metrics.hit_rate * 100).toFixed(1)}%`,
    `ttft p50/p90/p99 ${metrics.ttft_p50_ms.toFixed(0)}/${metrics.ttft_p90_ms.toFixed(0)}/${metrics.ttft_p99_ms.toFixed(0)} ms`,
    `${metrics.output_tokens_per_s.toFixed(0)} tok/s`,
    `imbalance ${metrics.imbalance.toFixed(2)}`,
    `prefill ${(metrics.prefill_utilization * 100).toFixed(0)}%`,
    `decide p99 ${metrics.decision_p99_ms.toFixed(3)} ms`,
    `${((performance.now() - since) / 1000).toFixed(1)} s`,
  ];
  console.log(`${workload.padEnd(14)} ${strategy.padEnd(12)} ${fields.join(" · ")}`);
}
