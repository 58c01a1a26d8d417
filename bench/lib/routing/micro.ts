/**
 * Decision latency at scale: one strategy instance routing among 64 endpoints while tracking ~100k
 * prefix blocks, the size the target names. State is built through the hooks the router calls
 * (decide → onRouted → onReport), then `decide` is timed on a mix of known and new prefixes. Heap is
 * measured after a forced GC before and after building the state.
 */
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { percentile } from "./percentile.js";
import { createCandidate, type RoutingRequest, type Strategy } from "./router-api.js";
import type { StrategyBuild } from "./strategies.js";
import { Random, words } from "./text.js";

const endpoints = 64;
const targetBlocks = 100_000;
/** The router's approximate index hashes prompts in blocks of 64 characters (≈ 16 tokens). */
const charsPerBlock = 64;
const promptChars = 4096;
const timedDecisions = 20_000;

export interface MicroResult {
  strategy: string;
  endpoints: number;
  tracked_blocks: number;
  decision_p50_ms: number;
  decision_p99_ms: number;
  /**
   * CPU time of the same decisions: what `decide` itself costs. On a shared machine wall-clock p99
   * mostly measures the scheduler pausing this process; CPU time does not.
   */
  decision_cpu_p99_ms: number;
  heap_mb: number;
}

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

function heapUsed(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

export function decisionMicroBenchmark(strategies: readonly StrategyBuild[]): MicroResult[] {
  return strategies
    .filter((build) => build.name === "kv-aware" || build.name === "precise")
    .map((build) => measure(build));
}

function measure(build: StrategyBuild): MicroResult {
  const ids = Array.from({ length: endpoints }, (_, index) => `endpoint-${index}`);
  const random = new Random(99);
  // 32 shared system prompts, so prompts share prefixes the way real traffic does.
  const systems = Array.from({ length: 32 }, () => words(random, 200));
  const systemChars = Math.min(...systems.map((system) => system.length));
  const promptOf = (index: number) => {
    const system = systems[index % systems.length] as string;
    return `${system} ${words(random, promptChars / 4)}`.slice(0, promptChars);
  };
  const before = heapUsed();
  const instance = build.create();
  const { strategy } = instance;
  strategy.onEndpointsChanged?.(ids);
  let tracked = 0;
  let sequence = 0;
  const known: string[] = [];
  while (tracked < targetBlocks) {
    const prompt = promptOf(sequence);
    if (known.length < 256) known.push(prompt);
    const { endpointId } = route(strategy, ids, random, { requestId: `build-${sequence}`, prompt });
    if (instance.recordCached) {
      tracked = instance.recordCached(endpointId, prompt);
    } else {
      // A system prompt's blocks count once (there may be a copy per endpoint holding it: an undercount).
      const shared = sequence >= systems.length ? Math.floor(systemChars / charsPerBlock) : 0;
      tracked += Math.floor(prompt.length / charsPerBlock) - shared;
    }
    sequence++;
  }
  const after = heapUsed();

  const samples: number[] = [];
  const cpuSamples: number[] = [];
  for (let index = 0; index < timedDecisions; index++) {
    // Half continue a known conversation, half are new: both the hit and the miss path get timed.
    const prompt =
      index % 2 === 0 ? `${random.pick(known)} ${words(random, 30)}` : promptOf(sequence + index);
    const timed = route(strategy, ids, random, { requestId: `timed-${index}`, prompt });
    samples.push(timed.elapsed);
    cpuSamples.push(timed.cpu);
  }
  return {
    strategy: build.name,
    endpoints,
    tracked_blocks: tracked,
    decision_p50_ms: percentile(samples, 0.5),
    decision_p99_ms: percentile(samples, 0.99),
    decision_cpu_p99_ms: percentile(cpuSamples, 0.99),
    heap_mb: (after - before) / 1_048_576,
  };
}

/** One decision with random live load on the candidates; returns the time `decide` took and the choice. */
function route(
  strategy: Strategy,
  ids: readonly string[],
  random: Random,
  request: { requestId: string; prompt: string },
): { elapsed: number; cpu: number; endpointId: string } {
  const candidates = ids.map((id) =>
    createCandidate({
      id,
      model: "micro",
      inFlight: random.int(0, 8),
      waiting: random.int(0, 4),
      running: random.int(0, 16),
      kvCacheUsage: random.next(),
      kvCapacityTokens: 1_000_000,
    }),
  );
  const routing: RoutingRequest = {
    ...request,
    model: "micro",
    tenantId: "tenant",
    promptTokens: Math.ceil(request.prompt.length / 4),
  };
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  const decision = strategy.decide(routing, candidates);
  const elapsed = performance.now() - started;
  const cpuUsed = process.cpuUsage(cpuStarted);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1000;
  const endpointId = decision.chosen.endpoint.id;
  strategy.onRouted?.(routing, endpointId);
  strategy.onReport?.({
    requestId: request.requestId,
    endpointId,
    promptTokens: routing.promptTokens,
    cachedTokens: routing.promptTokens,
    outcome: "success",
  });
  return { elapsed, cpu, endpointId };
}
