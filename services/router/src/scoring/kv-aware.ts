import { z } from "zod";
import { PrefixTracker, prefixParamsSchema } from "../prefix/prefix-tracker.js";
import type { Candidate } from "./candidate.js";
import { boundedLoadOf, queuedOf } from "./load.js";
import { type RoutingRequest, type Strategy, type StrategyDecision, strategyPlugin } from "./strategy.js";
import { formatNumber, RotatingTieBreak, tieTolerance } from "./tie-break.js";

export const kvAwareParamsSchema = z
  .object({
    prefix: prefixParamsSchema.prefault({}),
    // Cost defaults match engine-sim's model (and an 8B model on one GPU: ~10k prefill tokens/s).
    /** Prefill cost of one uncached prompt token. */
    prefillMsPerToken: z.number().min(0).default(0.1),
    /** Fixed cost of starting a request (scheduling, first step) regardless of its length. */
    requestOverheadMs: z.number().min(0).default(5),
    /**
     * Time one queued request holds up those behind it. Unset: learned from Reports as overhead +
     * average uncached prompt tokens × prefillMsPerToken, so it tracks the workload's real hit rate.
     */
    queuedRequestMs: z.number().min(0).optional(),
    /** Starting point of that average before any Report arrived. */
    initialUncachedTokens: z.number().min(0).default(512),
    /** Extra TTFT per running sequence: decodes share each engine step with the new prefill. */
    runningRequestMs: z.number().min(0).default(0.2),
    /**
     * Bounded load as in CHWBL: no endpoint takes a request that would put it beyond factor × mean
     * load unless every endpoint is there. 1.5 rather than KubeAI's 1.25 because a cached request is
     * cheaper than an average one, so a cache-holding endpoint can carry more of them; the TTFT
     * estimate already weighs queues, the cap only stops a hot prefix from piling onto one replica.
     */
    loadFactor: z.number().min(1).default(1.5),
    /**
     * The cap never goes below this many requests: at low load CHWBL's bound is under 2 (with two
     * endpoints and one request in flight, (1 + 1) / 2 × 1.5 = 1.5), which would force a cached
     * prefix away from its replica exactly when that replica is idle enough to serve it best.
     */
    minLoadCap: z.number().min(0).default(4),
  })
  .strict();

export type KvAwareParams = z.input<typeof kvAwareParamsSchema>;

/** Weight of a new Report in the running average of uncached tokens per request. */
const averageWeight = 0.05;

/**
 * kv-aware: estimate each candidate's time to first token and pick the least.
 *   TTFT ≈ queued × per-request service time + overhead + uncached prompt tokens × prefill cost
 *          + running × decode interference
 * where "uncached" comes from the approximate prefix index. Safeguards: the bounded-load cap above,
 * and cold requests (no cached prefix anywhere) go to the least-estimated endpoint, ties broken by the
 * smallest index (most free cache, SGLang's choice) and then by rotation, so new prefixes spread.
 * The reported score is the estimate in ms, lower wins.
 */
export function createKvAware(params: z.output<typeof kvAwareParamsSchema>): Strategy {
  const tracker = new PrefixTracker(params.prefix);
  const tieBreak = new RotatingTieBreak();
  let averageUncachedTokens = params.initialUncachedTokens;
  let matched = new Int32Array(64);
  let estimates = new Float64Array(64);
  let capped = new Uint8Array(64);
  let coldKeys = new Float64Array(64);

  const serviceMs = () =>
    params.queuedRequestMs ?? params.requestOverheadMs + averageUncachedTokens * params.prefillMsPerToken;

  const grow = (size: number) => {
    if (matched.length >= size) return;
    matched = new Int32Array(size * 2);
    estimates = new Float64Array(size * 2);
    capped = new Uint8Array(size * 2);
    coldKeys = new Float64Array(size * 2);
  };

  return {
    name: "kv-aware",
    decide(request, candidates): StrategyDecision {
      const count = candidates.length;
      grow(count);
      const blocks = tracker.match(request, candidates, matched);
      const promptTokens = tracker.promptTokens(request);
      const service = serviceMs();
      let eligibleCount = 0;
      let totalLoad = 0;
      for (const candidate of candidates) {
        if (!candidate.eligible) continue;
        eligibleCount++;
        totalLoad += boundedLoadOf(candidate);
      }
      if (eligibleCount === 0) throw new Error("kv-aware called without eligible candidates");
      const cap = Math.max(params.minLoadCap, (params.loadFactor * (totalLoad + 1)) / eligibleCount);
      let cappedCount = 0;
      let hit = false;
      for (let index = 0; index < count; index++) {
        const candidate = candidates[index]!;
        const uncached = promptTokens - tracker.cachedTokens(request, matched[index]!);
        estimates[index] =
          queuedOf(candidate) * service +
          params.requestOverheadMs +
          uncached * params.prefillMsPerToken +
          (candidate.running ?? 0) * params.runningRequestMs;
        const over = candidate.eligible && boundedLoadOf(candidate) + 1 > cap;
        capped[index] = over ? 1 : 0;
        if (over) cappedCount++;
      }
      // Everyone over the cap means the cap says nothing; fall back to the estimates alone.
      const useCap = cappedCount < eligibleCount;
      const allowed = (index: number) => candidates[index]!.eligible && !(useCap && capped[index] === 1);
      for (let index = 0; index < count; index++) if (allowed(index) && matched[index]! > 0) hit = true;

      let chosenIndex: number;
      if (hit) {
        chosenIndex = tieBreak.pick(estimates.subarray(0, count), allowed, "min");
      } else {
        let best = Number.POSITIVE_INFINITY;
        for (let index = 0; index < count; index++)
          if (allowed(index)) best = Math.min(best, estimates[index]!);
        for (let index = 0; index < count; index++) {
          const near = allowed(index) && estimates[index]! - best <= tieTolerance;
          coldKeys[index] = near ? tracker.index.trackedBlocks(candidates[index]!.endpoint.id) : Infinity;
        }
        chosenIndex = tieBreak.pick(coldKeys.subarray(0, count), allowed, "min");
      }
      const scores = estimates.subarray(0, count);
      return {
        chosen: candidates[chosenIndex]!,
        chosenIndex,
        scores,
        explain() {
          const describe = (candidate: Candidate, index: number) =>
            describeEstimate(request, candidate, {
              estimate: estimates[index]!,
              cachedTokens: tracker.cachedTokens(request, matched[index]!),
              promptTokens,
              service,
              capped: useCap && capped[index] === 1,
              cap,
            });
          const details = candidates.map(describe);
          const chosen = candidates[chosenIndex]!;
          const cachedTokens = tracker.cachedTokens(request, matched[chosenIndex]!);
          const what = hit
            ? `cached ${cachedTokens}/${promptTokens} tokens, queue ${formatNumber(queuedOf(chosen))}`
            : `no cached prefix (${blocks} blocks) anywhere, least loaded: queue ${formatNumber(queuedOf(chosen))}`;
          const caps = useCap && cappedCount > 0 ? `; ${cappedCount} over load cap ${formatNumber(cap)}` : "";
          const reason = `kv-aware: est. TTFT ${formatMs(estimates[chosenIndex]!)} (${what})${caps}`;
          return { reason, details };
        },
      };
    },
    onRouted(request, endpointId) {
      tracker.onRouted(request, endpointId);
    },
    onReport(report) {
      if (report.outcome === "success" && report.promptTokens > 0) {
        const uncached = Math.max(0, report.promptTokens - report.cachedTokens);
        averageUncachedTokens += averageWeight * (uncached - averageUncachedTokens);
      }
      tracker.onReport(report);
    },
    onEndpointsChanged(endpointIds) {
      tracker.onEndpointsChanged(endpointIds);
    },
  };
}

export const kvAwarePlugin = strategyPlugin(kvAwareParamsSchema, createKvAware);

interface EstimateParts {
  estimate: number;
  cachedTokens: number;
  promptTokens: number;
  service: number;
  capped: boolean;
  cap: number;
}

function describeEstimate(_request: RoutingRequest, candidate: Candidate, parts: EstimateParts): string {
  const queue = `queue ${formatNumber(queuedOf(candidate))} × ${formatMs(parts.service)}`;
  const prefill = `prefill ${parts.promptTokens - parts.cachedTokens} tokens (cached ${parts.cachedTokens}/${parts.promptTokens})`;
  const running = `running ${formatNumber(candidate.running ?? 0)}`;
  const cap = parts.capped
    ? `; over load cap (load ${formatNumber(boundedLoadOf(candidate))} + 1 > ${formatNumber(parts.cap)})`
    : "";
  return `est. TTFT ${formatMs(parts.estimate)}: ${queue}, ${prefill}, ${running}${cap}`;
}

function formatMs(value: number): string {
  return value >= 10 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}
