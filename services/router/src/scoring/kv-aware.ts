import { performance } from "node:perf_hooks";
import { z } from "zod";
import { PrefixTracker, prefixParamsSchema } from "../prefix/prefix-tracker.js";
import type { Candidate } from "./candidate.js";
import { describeChoice, describeEstimate, type Estimates } from "./kv-aware-explain.js";
import { boundedLoadOf } from "./load.js";
import { PrefillLanes } from "./prefill-lanes.js";
import { PrefillSpeed } from "./prefill-speed.js";
import {
  type RoutingReport,
  type RoutingRequest,
  type Strategy,
  type StrategyDecision,
  strategyPlugin,
} from "./strategy.js";
import { RotatingTieBreak, tieTolerance } from "./tie-break.js";

export const kvAwareParamsSchema = z
  .object({
    prefix: prefixParamsSchema.prefault({}),
    // Cost defaults match engine-sim's model (and an 8B model on one GPU: ~10k prefill tokens/s).
    /** Prefill cost of one uncached prompt token; scaled per replica by the speed learned from Reports. */
    prefillMsPerToken: z.number().min(0).default(0.1),
    /** Fixed cost of starting a request (scheduling, first step) regardless of its length. */
    requestOverheadMs: z.number().min(0).default(5),
    /**
     * Time one request in the engine's waiting queue (`num_requests_waiting`: not yet admitted, so not
     * in our prefill queue model either) holds up those behind it. Unset: overhead + the average
     * uncached prompt tokens of recent Reports × prefillMsPerToken, so it tracks the real hit rate.
     */
    queuedRequestMs: z.number().min(0).optional(),
    /** Starting point of that average before any Report arrived. */
    initialUncachedTokens: z.number().min(0).default(512),
    /** Extra TTFT per running sequence: decodes share each engine step with the new prefill. */
    runningRequestMs: z.number().min(0).default(0.2),
    /**
     * Weight of the uncached prefill a choice adds to a replica, on top of this request's own TTFT.
     * That prefill delays the requests that reach the replica while it runs, so of two choices with
     * about the same TTFT the one computing fewer tokens is better for those that follow (and keeps a
     * prefix on one replica instead of copying it). 1 charges each computed token twice, once for this
     * request and once for the queue behind it; in the routing benchmark 0.5–2 place alike at normal
     * load, and under a 2× slower engine 1 cut multi-turn p90 TTFT by an eighth against 0.5.
     */
    prefillWorkWeight: z.number().min(0).default(1),
    /**
     * Bounded load as in CHWBL, over requests in flight: the cap is factor × mean load. It bounds
     * decode concurrency (KV use, step time), which the TTFT estimate does not see; queueing for
     * prefill the estimate already weighs.
     */
    loadFactor: z.number().min(1).default(1.5),
    /**
     * The cap never goes below this many requests. At low load the bound is a handful of requests and
     * random arrivals cross it all the time (mean 3 in flight: 5 or more about one time in five); a
     * replica runs up to its `max_num_seqs` (vLLM: 256) sequences at once, so a few more decoding
     * there costs little.
     */
    minLoadCap: z.number().min(0).default(8),
    /**
     * Each request an endpoint would carry beyond the cap is charged as this much queueing. A soft cap
     * rather than CHWBL's hard one: a request leaves the replica holding its prefix only when the
     * overload outweighs re-computing the prefix elsewhere (a 3000-token document at the defaults
     * costs 300 ms plus its weighted work, about 5 requests over the cap), and once a hot prefix has
     * spilled, the spill replica holds it too and takes the next overflow at once: hot prefixes are
     * replicated onto a few replicas, not scattered over all of them.
     */
    overCapMsPerRequest: z.number().min(0).default(100),
    /** Weight of one Report in each replica's learned prefill speed (0: trust the configured costs). */
    speedLearningWeight: z.number().min(0).max(1).default(0.05),
    /** The learned speed stays within [1 / this, this] × the configured costs. */
    maxSpeedFactor: z.number().min(1).default(4),
  })
  .strict();

export type KvAwareParams = z.input<typeof kvAwareParamsSchema>;

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
export function createKvAware(
  params: z.output<typeof kvAwareParamsSchema>,
  deps: { now?: () => number } = {},
): Strategy {
  const now = deps.now ?? (() => performance.now());
  const tracker = new PrefixTracker(params.prefix);
  const lanes = new PrefillLanes();
  const speeds = new PrefillSpeed(params.speedLearningWeight, params.maxSpeedFactor);
  const placements = new Map<string, Placement>();
  const tieBreak = new RotatingTieBreak();
  let averageUncachedTokens = params.initialUncachedTokens;
  let buffers = allocate(64);
  /** The last decision, until onRouted commits it. */
  let last: { request: RoutingRequest; endpointId: string; workMs: number; queueMs: number } | undefined;

  const prefillMs = (endpointId: string, uncachedTokens: number) =>
    speeds.factor(endpointId) * (params.requestOverheadMs + uncachedTokens * params.prefillMsPerToken);

  /** Fills the buffers with every candidate's queue, estimate and cost; returns the shared numbers. */
  function estimate(request: RoutingRequest, candidates: readonly Candidate[]): Estimates {
    const { matched, cached, queue, estimates, overload, costs } = buffers;
    const at = now();
    const blocks = tracker.match(request, candidates, matched);
    const promptTokens = tracker.promptTokens(request);
    const perQueued =
      params.queuedRequestMs ?? params.requestOverheadMs + averageUncachedTokens * params.prefillMsPerToken;
    const cap = loadCap(candidates, params);
    let cappedCount = 0;
    let hit = false;
    for (let index = 0; index < candidates.length; index++) {
      const candidate = candidates[index]!;
      const speed = speeds.factor(candidate.endpoint.id);
      cached[index] = tracker.cachedTokens(request, matched[index]!);
      const uncachedMs = speed * (promptTokens - cached[index]!) * params.prefillMsPerToken;
      const engineQueueMs = (candidate.waiting ?? 0) * perQueued * speed;
      queue[index] = Math.max(lanes.backlog(candidate.endpoint.id, at), engineQueueMs);
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
  function pick(candidates: readonly Candidate[], hit: boolean): number {
    const count = candidates.length;
    const { costs, coldKeys } = buffers;
    const eligible = (index: number) => candidates[index]!.eligible;
    if (hit) return tieBreak.pick(costs.subarray(0, count), eligible, "min");
    let best = Number.POSITIVE_INFINITY;
    for (let index = 0; index < count; index++) if (eligible(index)) best = Math.min(best, costs[index]!);
    for (let index = 0; index < count; index++) {
      const near = eligible(index) && costs[index]! - best <= tieTolerance;
      coldKeys[index] = near ? tracker.index.trackedBlocks(candidates[index]!.endpoint.id) : Infinity;
    }
    return tieBreak.pick(coldKeys.subarray(0, count), eligible, "min");
  }

  return {
    name: "kv-aware",
    decide(request, candidates): StrategyDecision {
      if (!candidates.some((candidate) => candidate.eligible)) {
        throw new Error("kv-aware called without eligible candidates");
      }
      if (buffers.estimates.length < candidates.length) buffers = allocate(candidates.length * 2);
      const view = estimate(request, candidates);
      const chosenIndex = pick(candidates, view.hit);
      const chosen = candidates[chosenIndex]!;
      const numbers = buffers;
      last = {
        request,
        endpointId: chosen.endpoint.id,
        workMs: prefillMs(chosen.endpoint.id, view.promptTokens - numbers.cached[chosenIndex]!),
        queueMs: numbers.queue[chosenIndex]!,
      };
      return {
        chosen,
        chosenIndex,
        scores: numbers.costs.subarray(0, candidates.length),
        explain() {
          const details = candidates.map((candidate, index) =>
            describeEstimate(candidate, index, numbers, view, speeds.factor(candidate.endpoint.id)),
          );
          return { reason: describeChoice(chosenIndex, numbers, view), details };
        },
      };
    },
    onRouted(request, endpointId) {
      // Our own decision carries its estimate; a peer router's (shared over the bus) is re-estimated.
      const own = last?.request === request ? last : undefined;
      last = undefined;
      let workMs: number;
      if (own?.endpointId === endpointId) workMs = own.workMs;
      else {
        const blocks = tracker.index.matchOn(endpointId, tracker.hashesOf(request));
        workMs = prefillMs(endpointId, tracker.promptTokens(request) - tracker.cachedTokens(request, blocks));
      }
      const backlog = lanes.add(endpointId, now(), workMs);
      if (own) {
        remember(placements, request.requestId, {
          endpointId,
          queueMs: Math.max(backlog, own.queueMs),
          workMs,
        });
      }
      if (placements.size > params.prefix.maxPendingReports) {
        // A Report that never came must not pin memory; insertion order makes the first the oldest.
        placements.delete(placements.keys().next().value as string);
      }
      tracker.onRouted(request, endpointId);
    },
    onReport(report) {
      const placement = placements.get(report.requestId);
      placements.delete(report.requestId);
      // The request never reached the engine: its prefill is not in that queue after all.
      if (report.outcome === "connect-error" && placement)
        lanes.cancel(placement.endpointId, now(), placement.workMs);
      if (report.outcome === "success" && report.promptTokens > 0) {
        const uncached = Math.max(0, report.promptTokens - report.cachedTokens);
        averageUncachedTokens += averageWeight * (uncached - averageUncachedTokens);
        const ttft = streamedTtft(report);
        // Only a request that queued behind nothing measures the replica's prefill speed alone.
        if (placement !== undefined && placement.queueMs === 0 && ttft !== undefined) {
          const predicted = params.requestOverheadMs + uncached * params.prefillMsPerToken;
          speeds.observe(placement.endpointId, ttft, predicted);
        }
      }
      tracker.onReport(report);
    },
    onEndpointsChanged(endpointIds) {
      tracker.onEndpointsChanged(endpointIds);
      lanes.retainOnly(endpointIds);
      speeds.retainOnly(endpointIds);
    },
  };
}

/** factor × mean load over the eligible candidates (counting the request being placed), at least minLoadCap. */
function loadCap(candidates: readonly Candidate[], params: z.output<typeof kvAwareParamsSchema>): number {
  let eligible = 0;
  let total = 0;
  for (const candidate of candidates) {
    if (!candidate.eligible) continue;
    eligible++;
    total += boundedLoadOf(candidate);
  }
  return Math.max(params.minLoadCap, (params.loadFactor * (total + 1)) / eligible);
}

export const kvAwarePlugin = strategyPlugin(kvAwareParamsSchema, createKvAware);

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

function remember(placements: Map<string, Placement>, requestId: string, placement: Placement): void {
  placements.delete(requestId);
  placements.set(requestId, placement);
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
