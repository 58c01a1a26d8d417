/**
 * How well does each routing strategy place requests, for real? Harness 2 of the routing benchmark:
 * gateway → router → engine-sim, each in its own process and over the network, on harness 1's seeded
 * workloads scaled down, with harness 1's prediction for the same setup beside every number (see
 * lib/routing/live/). Results go under `live` in results/routing.json and into their own section of
 * RESULTS.md; harness 1 (`pnpm bench routing`) keeps the rest of both.
 */
import { freePort, type NatsServerHandle, startNatsServer } from "@strata/kit/testing";
import { environment, readJson, updateResultsMarkdown, writeJson } from "./lib/report.js";
import { type EngineFleet, startEngineFleet } from "./lib/routing/live/engine-fleet.js";
import { type GatewayHost, startGatewayProcess } from "./lib/routing/live/gateway-host.js";
import { predict } from "./lib/routing/live/live-prediction.js";
import { type LiveReport, type LiveResult, liveSection } from "./lib/routing/live/live-report.js";
import { type LiveMetrics, liveRun } from "./lib/routing/live/live-run.js";
import { engineFlags, type LiveSetup, liveSetup } from "./lib/routing/live/live-setup.js";
import { ReplayClient } from "./lib/routing/live/replay.js";
import { needsKvEvents, strategyUnsupported, syncUnsupported } from "./lib/routing/live/router-config.js";
import { StandbyRouter } from "./lib/routing/live/standby-router.js";
import { planStrategies, type StrategyBuild } from "./lib/routing/strategies.js";
import { buildWorkload, type Workload, type WorkloadName, workloadNames } from "./lib/routing/workloads.js";

const model = "strata-sim";
const warmUpS = 5;
/** Two workloads keep the whole run within ~8 minutes; the others are one variable away. */
const defaultWorkloads: WorkloadName[] = ["multi-turn", "shared-context"];
const twoRouterWorkloads: readonly WorkloadName[] = ["multi-turn", "shared-context"];

interface Plan {
  setup: LiveSetup;
  workloads: WorkloadName[];
  strategies: StrategyBuild[];
  skipped: { name: string; reason: string }[];
  /** Runs that failed, filled in as the benchmark goes. */
  failed: { name: string; reason: string }[];
  /** Whether two-routers runs happen (kv-aware runs on a workload that has them). */
  twoRouters: boolean;
  /** Why the two routers cannot share state, when they cannot; they then run unsynchronised. */
  syncProblem: string | undefined;
}

function planRun(env: Record<string, string | undefined>): Plan {
  const setup = liveSetup(env);
  const only = (variable: string | undefined) => variable?.split(",").map((name) => name.trim());
  const wanted = only(env.BENCH_LIVE_WORKLOADS) ?? defaultWorkloads;
  const unknown = wanted.filter((name) => !(workloadNames as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`BENCH_LIVE_WORKLOADS: unknown workload(s) ${unknown.join(", ")}`);
  const onlyStrategies = only(env.BENCH_LIVE_STRATEGIES);
  const built = planStrategies();
  const skipped: Plan["skipped"] = [...built.skipped];
  const strategies = built.runnable.filter((build) => {
    if (onlyStrategies && !onlyStrategies.includes(build.name)) return false;
    const problem = strategyUnsupported(build.name);
    if (problem) skipped.push({ name: build.name, reason: problem });
    return problem === undefined;
  });
  const workloads = wanted as WorkloadName[];
  const twoRouters =
    strategies.some((build) => build.name === "kv-aware") &&
    workloads.some((name) => twoRouterWorkloads.includes(name));
  return { setup, workloads, strategies, skipped, failed: [], twoRouters, syncProblem: syncUnsupported() };
}

interface Services {
  gateways: GatewayHost[];
  routerPorts: number[];
  fleet: EngineFleet;
  replay: ReplayClient;
  nats: NatsServerHandle | undefined;
  /** Holds the second gateway's router port between the runs that use two routers. */
  standby: StandbyRouter | undefined;
}

export async function main(): Promise<void> {
  const started = performance.now();
  const plan = planRun(process.env);
  for (const { name, reason } of plan.skipped) log(`skipping ${name}: ${reason}`);
  if (plan.twoRouters && plan.syncProblem) log(`two-routers run without sync: ${plan.syncProblem}`);
  const services = await startServices(plan);
  try {
    await warmUp(plan, services);
    const results: LiveReport["results"] = {};
    const workloads: LiveReport["workloads"] = {};
    for (const name of plan.workloads) {
      const { setup } = plan;
      const workload = buildWorkload(name, setup.durationS[name], setup.seed, { scale: setup.scale });
      workloads[name] = {
        shape: workload.shape,
        rate_per_s: workload.ratePerS,
        requests: workload.requests.length,
        duration_s: setup.durationS[name],
      };
      results[name] = await runWorkload(plan, services, workload);
    }
    await write(plan, started, workloads, results);
  } finally {
    await stopServices(services);
  }
}

/** Every strategy on one workload, then two kv-aware routers where the issue asks for them. */
async function runWorkload(
  plan: Plan,
  services: Services,
  workload: Workload,
): Promise<Record<string, LiveResult>> {
  const { setup } = plan;
  const { gateways, routerPorts, fleet, replay, nats } = services;
  const common = { setup, model, workload, fleet, replay, onPhase: phaseLog };
  const byStrategy: Record<string, LiveResult> = {};
  for (const build of plan.strategies) {
    const metrics = await attempt(plan, workload.name, build.name, () =>
      liveRun({
        ...common,
        tag: nextTag(),
        strategy: build.name,
        gateways: gateways.slice(0, 1),
        routerPorts: routerPorts.slice(0, 1),
      }),
    );
    if (!metrics) continue;
    byStrategy[build.name] = { ...metrics, predicted: predict(build, workload, setup, 1, undefined) };
    report(workload.name, build.name, byStrategy[build.name] as LiveResult);
  }
  const kvAware = plan.strategies.find((build) => build.name === "kv-aware");
  if (kvAware && twoRouterWorkloads.includes(workload.name)) {
    const sync = nats ? { natsUrl: nats.url, group: `bench-${workload.name}-${Date.now()}` } : undefined;
    const metrics = await attempt(plan, workload.name, "two-routers", () =>
      withBothPorts(services, () =>
        liveRun({ ...common, tag: nextTag(), strategy: "kv-aware", gateways, routerPorts, sync }),
      ),
    );
    if (!metrics) return byStrategy;
    // With sync, harness 1's peers hear of each decision 2 ms later; without, never.
    const predicted = predict(kvAware, workload, setup, 2, sync ? 2 : undefined);
    byStrategy["two-routers"] = { ...metrics, sync: sync ? "nats" : "none", predicted };
    report(workload.name, "two-routers", byStrategy["two-routers"] as LiveResult);
  }
  return byStrategy;
}

/**
 * One run, tried a second time if it fails (a process that could not start on a busy machine), then
 * its failure noted and the benchmark carried on: one strategy's router that will not start should not
 * cost the numbers of all the others.
 */
async function attempt(
  plan: Plan,
  workload: string,
  name: string,
  run: () => Promise<LiveMetrics>,
): Promise<LiveMetrics | undefined> {
  for (let tries = 1; ; tries++) {
    try {
      return await run();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log(`${name} on ${workload} failed (try ${tries} of 2): ${reason}`);
      if (tries < 2) {
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        continue;
      }
      plan.failed.push({ name: `${name} on ${workload}`, reason });
      return undefined;
    }
  }
}

/**
 * The long-lived processes: the engines (cold at the start; see live-run.ts for why each run still
 * starts cold), the gateway(s), the load generator and, for synchronised routers, a nats-server. Only
 * the routers are started per run.
 */
async function startServices(plan: Plan): Promise<Services> {
  const { setup } = plan;
  const routerPorts = [await freePort(), await freePort()];
  const gatewayCount = plan.twoRouters ? 2 : 1;
  log(`starting ${setup.replicas} engine-sim processes and ${gatewayCount} gateway process(es)`);
  const kvEvents = plan.strategies.some((build) => needsKvEvents(build.name));
  const [fleet, ...gateways] = await Promise.allSettled([
    startEngineFleet(setup.replicas, engineFlags(setup, model), { kvEvents }),
    ...routerPorts.slice(0, gatewayCount).map((port) => startGatewayProcess(`127.0.0.1:${port}`)),
  ]);
  const started = [fleet, ...gateways].flatMap((result) =>
    result.status === "fulfilled" ? [result.value] : [],
  );
  const failed = [fleet, ...gateways].find((result) => result.status === "rejected");
  let nats: NatsServerHandle | undefined;
  const standby = plan.twoRouters ? new StandbyRouter(routerPorts[1] as number) : undefined;
  try {
    if (failed) throw failed.reason;
    if (plan.twoRouters && !plan.syncProblem) nats = await startNatsServer();
    await standby?.start();
  } catch (error) {
    await Promise.all([...started.map((service) => service.stop()), nats?.stop(), standby?.stop()]);
    throw error;
  }
  return {
    fleet: (fleet as PromiseFulfilledResult<EngineFleet>).value,
    gateways: gateways.map((result) => (result as PromiseFulfilledResult<GatewayHost>).value),
    routerPorts,
    replay: new ReplayClient(),
    nats,
    standby,
  };
}

/**
 * A few seconds of unmeasured traffic first: the processes' JIT and connection pools start cold, and
 * in trial runs whichever strategy came first paid for it with client lag and TTFT well above harness
 * 1's, while the same strategy run again matched it.
 */
async function warmUp(plan: Plan, services: Services): Promise<void> {
  const { setup } = plan;
  const first = plan.workloads[0];
  const build = plan.strategies[0];
  if (first === undefined || build === undefined) return;
  const workload = buildWorkload(first, warmUpS, setup.seed, { scale: setup.scale });
  log(`warming up: ${warmUpS} s of ${first} with ${build.name}, not measured`);
  await withBothPorts(services, () =>
    liveRun({
      setup,
      model,
      workload,
      fleet: services.fleet,
      replay: services.replay,
      tag: "warmup",
      strategy: build.name,
      gateways: services.gateways,
      routerPorts: services.routerPorts.slice(0, services.gateways.length),
    }),
  );
}

/** Runs `run` with the standby router (if any) out of the second port's way. */
function withBothPorts<T>(services: Services, run: () => Promise<T>): Promise<T> {
  return services.standby ? services.standby.lend(run) : run();
}

async function stopServices(services: Services): Promise<void> {
  services.replay.close();
  await Promise.all([...services.gateways.map((gateway) => gateway.stop()), services.fleet.stop()]);
  await services.standby?.stop();
  await services.nats?.stop();
}

async function write(
  plan: Plan,
  started: number,
  workloads: LiveReport["workloads"],
  results: LiveReport["results"],
): Promise<void> {
  const { setup, skipped, failed } = plan;
  const runtimeS = (performance.now() - started) / 1000;
  const overrides = Object.entries(process.env)
    .filter(([name]) => name.startsWith("BENCH_LIVE_") || name === "BENCH_ROUTING_SEED")
    .map(([name, value]) => `${name}=${value} `)
    .join("");
  const live: LiveReport = {
    harness: "real time: gateway → router → engine-sim processes over the network",
    command: `${overrides}pnpm bench routing-live`,
    environment: environment(),
    runtime_s: Number(runtimeS.toFixed(1)),
    setup: { ...setup, model },
    workloads,
    skipped,
    failed,
    results,
  };
  // Harness 1 owns the rest of routing.json; the live record sits beside it under `live`.
  const previous = ((await readJson("routing")) ?? { benchmark: "routing" }) as Record<string, unknown>;
  const file = await writeJson("routing", { ...previous, live });
  const markdown = await updateResultsMarkdown("routing-live", liveSection(live));
  log(`wrote ${file} (live) and ${markdown} in ${runtimeS.toFixed(1)} s`);
}

function report(workload: string, strategy: string, result: LiveResult): void {
  const { predicted } = result;
  const fields = [
    `hit ${(result.hit_rate * 100).toFixed(1)}% (sim ${(predicted.hit_rate * 100).toFixed(1)}%)`,
    `ttft p50/p90/p99 ${result.ttft_p50_ms.toFixed(0)}/${result.ttft_p90_ms.toFixed(0)}/${result.ttft_p99_ms.toFixed(0)} ms (sim p90 ${predicted.ttft_p90_ms.toFixed(0)})`,
    `mean ${result.ttft_mean_ms.toFixed(0)} (engine ${result.engine_ttft_mean_ms.toFixed(0)}) ms`,
    `${result.output_tokens_per_s.toFixed(0)} tok/s`,
    `imbalance ${result.imbalance.toFixed(2)} (sim ${predicted.imbalance.toFixed(2)})`,
    `decide p50/p99 ${result.decision_p50_ms.toFixed(2)}/${result.decision_p99_ms.toFixed(2)} ms (${result.decisions})`,
    `failed ${result.failed}/${result.requests}`,
    `lag p99 ${result.send_lag_p99_ms.toFixed(1)} ms`,
    ...(result.sync_applied === undefined ? [] : [`sync applied ${result.sync_applied}`]),
  ];
  console.log(`${workload.padEnd(14)} ${strategy.padEnd(12)} ${fields.join(" · ")}`);
}

let runs = 0;
/** A one-token word unique to each run ("runaa", "runab", …): letters only, like the workloads' words. */
function nextTag(): string {
  const index = runs++;
  const letter = (value: number) => String.fromCharCode(97 + (value % 26));
  return `run${letter(Math.floor(index / 26))}${letter(index)}`;
}

const phases: string[] = [];
/** Collects a run's phase durations and prints them when it ends, just above its result line. */
function phaseLog(phase: string, ms: number): void {
  phases.push(`${phase} ${(ms / 1000).toFixed(1)} s`);
  if (phase === "stop") console.log(`${"".padEnd(28)}(${phases.splice(0).join(", ")})`);
}

function log(message: string): void {
  console.log(`[bench routing-live] ${message}`);
}
