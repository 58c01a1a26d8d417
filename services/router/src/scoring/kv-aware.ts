import { performance } from "node:perf_hooks";
import { PrefixTracker } from "../prefix/prefix-tracker.js";
import { RecentMap } from "../recent-map.js";
import type { Candidate } from "./candidate.js";
import { describeChoice, describeEstimate, type Estimates } from "./kv-aware-explain.js";
import { type KvAwareSettings, kvAwareParamsSchema } from "./kv-aware-params.js";
import { boundedLoadOf } from "./load.js";
import { PrefillLanes } from "./prefill-lanes.js";
import { PrefillSpeed } from "./prefill-speed.js";
import {
  explanation,
  type RoutingReport,
  type RoutingRequest,
  type Strategy,
  type StrategyDecision,
  strategyPlugin,
} from "./strategy.js";
import { RotatingTieBreak, tieTolerance } from "./tie-break.js";

export { type KvAwareParams, kvAwareParamsSchema } from "./kv-aware-params.js";

/** Weight of a new Report in the running average of uncached tokens per request. */
const averageWeight = 0.05;

/** What a decision leaves for onRouted and onReport about the request it placed. */
interface Placement {
  endpointId: string;
  /** The estimated wait behind earlier prefills when it was sent, ms. */
  queueMs: number;
  /** The prefill it added to the endpoint's queue, ms. */
  workMs: number;
}

/** The last decision, until onRouted commits it. */
interface PendingDecision extends Placement {
  request: RoutingRequest;
}

type Buffers = ReturnType<typeof allocate>;

/**
 * kv-aware: estimate each candidate's time to first token and pick the least, counting the prefill
 * the choice adds for the requests that follow:
 *   TTFT ≈ queue + speed × (overhead + uncached prompt tokens × prefill cost) + running × interference
 *   cost = TTFT + prefillWorkWeight × speed × uncached tokens × prefill cost
 *          + overCapMsPerRequest × requests beyond the load cap
 * "uncached" comes from the approximate prefix index; "queue" from the router's own model of each
 * replica's prefill queue (PrefillLanes: what it and its peers sent there that is not computed yet),
 * or the engine's waiting queue when that is longer; "speed" is learned per replica from Reports.
 * Safeguards: the soft bounded-load cap, and cold requests (no cached prefix anywhere) break ties by
 * the smallest index (most free cache, SGLang's choice) and then by rotation, so new prefixes spread.
 * The reported score is the cost in ms, lower wins.
 */
export class KvAwareStrategy implements Strategy {
  readonly name = "kv-aware";
  private readonly now: () => number;
  private readonly tracker: PrefixTracker;
  private readonly lanes = new PrefillLanes();
  private readonly speeds: PrefillSpeed;
  private readonly placements: RecentMap<string, Placement>;
  private readonly tieBreak = new RotatingTieBreak();
  private averageUncachedTokens: number;
  /** Per-candidate numbers, reused across decisions (the benchmark calls decide in a tight loop). */
  private buffers = allocate(64);
  private last: PendingDecision | undefined;

  constructor(
    private readonly params: KvAwareSettings,
    deps: { now?: () => number } = {},
  ) {
    this.now = deps.now ?? (() => performance.now());
    this.tracker = new PrefixTracker(params.prefix);
    this.speeds = new PrefillSpeed(params.speedLearningWeight, params.maxSpeedFactor);
    this.placements = new RecentMap(params.prefix.maxPendingReports);
    this.averageUncachedTokens = params.initialUncachedTokens;
  }

  decide(request: RoutingRequest, candidates: readonly Candidate[]): StrategyDecision {
    if (!candidates.some((candidate) => candidate.eligible)) {
      throw new Error("kv-aware called without eligible candidates");
    }
    if (this.buffers.estimates.length < candidates.length) this.buffers = allocate(candidates.length * 2);
    const numbers = this.buffers;
    const view = this.estimate(request, candidates, numbers);
    const chosenIndex = this.pick(candidates, view.hit, numbers);
    const chosen = candidates[chosenIndex]!;
    const uncachedTokens = view.promptTokens - numbers.cached[chosenIndex]!;
    this.last = {
      request,
      endpointId: chosen.endpoint.id,
      workMs: this.prefillMs(chosen.endpoint.id, uncachedTokens),
      queueMs: numbers.queue[chosenIndex]!,
    };
    const speeds = this.speeds;
    return {
      chosen,
      chosenIndex,
      scores: numbers.costs.subarray(0, candidates.length),
      explain: () =>
        explanation(describeChoice(chosenIndex, numbers, view), () =>
          candidates.map((candidate, index) =>
            describeEstimate(candidate, index, numbers, view, speeds.factor(candidate.endpoint.id)),
          ),
        ),
    };
  }

  onRouted(request: RoutingRequest, endpointId: string): void {
    // Our own decision carries its estimate; a peer router's (shared over the bus) is re-estimated.
    const own = this.last?.request === request ? this.last : undefined;
    this.last = undefined;
    let workMs: number;
    if (own?.endpointId === endpointId) workMs = own.workMs;
    else {
      const { tracker } = this;
      const blocks = tracker.index.matchOn(endpointId, tracker.hashesOf(request));
      const uncachedTokens = tracker.promptTokens(request) - tracker.cachedTokens(request, blocks);
      workMs = this.prefillMs(endpointId, uncachedTokens);
    }
    const backlog = this.lanes.add(endpointId, this.now(), workMs);
    if (own) {
      this.placements.set(request.requestId, { endpointId, queueMs: Math.max(backlog, own.queueMs), workMs });
    }
    this.tracker.onRouted(request, endpointId);
  }

  onReport(report: RoutingReport): void {
    const placement = this.placements.take(report.requestId);
    // The request never reached the engine: its prefill is not in that queue after all.
    if (report.outcome === "connect-error" && placement) {
      this.lanes.cancel(placement.endpointId, this.now(), placement.workMs);
    }
    if (report.outcome === "success" && report.promptTokens > 0) {
      const uncached = Math.max(0, report.promptTokens - report.cachedTokens);
      this.averageUncachedTokens += averageWeight * (uncached - this.averageUncachedTokens);
      const ttft = streamedTtft(report);
      // Only a request that queued behind nothing measures the replica's prefill speed alone.
      if (placement !== undefined && placement.queueMs === 0 && ttft !== undefined) {
        const predicted = this.params.requestOverheadMs + uncached * this.params.prefillMsPerToken;
        this.speeds.observe(placement.endpointId, ttft, predicted);
      }
    }
    this.tracker.onReport(report);
  }

  onEndpointsChanged(endpointIds: readonly string[]): void {
    this.tracker.onEndpointsChanged(endpointIds);
    this.lanes.retainOnly(endpointIds);
    this.speeds.retainOnly(endpointIds);
  }

  private prefillMs(endpointId: string, uncachedTokens: number): number {
    const { requestOverheadMs, prefillMsPerToken } = this.params;
    return this.speeds.factor(endpointId) * (requestOverheadMs + uncachedTokens * prefillMsPerToken);
  }

  /** Fills the buffers with every candidate's queue, estimate and cost; returns the shared numbers. */
  private estimate(request: RoutingRequest, candidates: readonly Candidate[], numbers: Buffers): Estimates {
    const { params, tracker } = this;
    const { matched, cached, queue, estimates, overload, costs } = numbers;
    const at = this.now();
    const blocks = tracker.match(request, candidates, matched);
    const promptTokens = tracker.promptTokens(request);
    const perQueued =
      params.queuedRequestMs ??
      params.requestOverheadMs + this.averageUncachedTokens * params.prefillMsPerToken;
    const cap = loadCap(candidates, params);
    let cappedCount = 0;
    let hit = false;
    for (let index = 0; index < candidates.length; index++) {
      const candidate = candidates[index]!;
      const speed = this.speeds.factor(candidate.endpoint.id);
      cached[index] = tracker.cachedTokens(request, matched[index]!);
      const uncachedMs = speed * (promptTokens - cached[index]!) * params.prefillMsPerToken;
      const engineQueueMs = (candidate.waiting ?? 0) * perQueued * speed;
      queue[index] = Math.max(this.lanes.backlog(candidate.endpoint.id, at), engineQueueMs);
      estimates[index] =
        queue[index]! +
        speed * params.requestOverheadMs +
        uncachedMs +
        (candidate.running ?? 0) * params.runningRequestMs;
      const overCap = Math.max(0, boundedLoadOf(candidate) + 1 - cap);
      overload[index] = overCap * params.overCapMsPerRequest;
      costs[index] = estimates[index]! + params.prefillWorkWeight * uncachedMs + overload[index]!;
      if (candidate.eligible && overCap > 0) cappedCount++;
      if (candidate.eligible && matched[index]! > 0) hit = true;
    }
    return { promptTokens, blocks, perQueued, cap, cappedCount, hit };
  }

  /** The cheapest eligible candidate; with no prefix anywhere, the emptiest index among the cheapest. */
  private pick(candidates: readonly Candidate[], hit: boolean, numbers: Buffers): number {
    const count = candidates.length;
    const { costs, coldKeys } = numbers;
    const eligible = (index: number) => candidates[index]!.eligible;
    if (hit) return this.tieBreak.pick(costs.subarray(0, count), eligible, "min");
    let best = Number.POSITIVE_INFINITY;
    for (let index = 0; index < count; index++) if (eligible(index)) best = Math.min(best, costs[index]!);
    for (let index = 0; index < count; index++) {
      const near = eligible(index) && costs[index]! - best <= tieTolerance;
      coldKeys[index] = near ? this.tracker.index.trackedBlocks(candidates[index]!.endpoint.id) : Infinity;
    }
    return this.tieBreak.pick(coldKeys.subarray(0, count), eligible, "min");
  }
}

export function createKvAware(params: KvAwareSettings, deps: { now?: () => number } = {}): Strategy {
  return new KvAwareStrategy(params, deps);
}

export const kvAwarePlugin = strategyPlugin(kvAwareParamsSchema, createKvAware);

/** factor × mean load over the eligible candidates (counting the request being placed), at least minLoadCap. */
function loadCap(candidates: readonly Candidate[], params: KvAwareSettings): number {
  let eligible = 0;
  let total = 0;
  for (const candidate of candidates) {
    if (!candidate.eligible) continue;
    eligible++;
    total += boundedLoadOf(candidate);
  }
  return Math.max(params.minLoadCap, (params.loadFactor * (total + 1)) / eligible);
}

function allocate(size: number) {
  return {
    matched: new Int32Array(size),
    cached: new Float64Array(size),
    queue: new Float64Array(size),
    estimates: new Float64Array(size),
    overload: new Float64Array(size),
    costs: new Float64Array(size),
    coldKeys: new Float64Array(size),
  };
}

/**
 * The first-token time when it measures prefill: a non-streamed answer reports its whole latency as
 * its first-token time, which says nothing about prefill speed.
 */
function streamedTtft(report: RoutingReport): number | undefined {
  const ttft = report.timeToFirstTokenMs;
  if (ttft === undefined || !(ttft > 0)) return undefined;
  if (report.latencyMs !== undefined && ttft >= report.latencyMs) return undefined;
  return ttft;
}
