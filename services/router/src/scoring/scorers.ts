import { z } from "zod";
import { PrefixTracker, type prefixParamsSchema } from "../prefix/prefix-tracker.js";
import { queuedOf } from "./load.js";
import type { Filter, Scorer } from "./pipeline.js";

/**
 * GIE's queue scorer: min-max normalised queue (engine waiting + our unreported in-flight); the
 * shortest queue scores 1, the longest 0, all equal → 1.
 */
export function queueScorer(): Scorer {
  return {
    name: "queue",
    score(_request, candidates, out) {
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const candidate of candidates) {
        const queued = queuedOf(candidate);
        min = Math.min(min, queued);
        max = Math.max(max, queued);
      }
      candidates.forEach((candidate, index) => {
        out[index] = max === min ? 1 : (max - queuedOf(candidate)) / (max - min);
      });
    },
  };
}

/** GIE's kv-cache-utilization scorer: 1 − usage; unknown usage scores as half full. */
export function kvCacheUtilizationScorer(): Scorer {
  return {
    name: "kv-cache-utilization",
    score(_request, candidates, out) {
      candidates.forEach((candidate, index) => {
        out[index] = 1 - Math.min(1, Math.max(0, candidate.kvCacheUsage ?? 0.5));
      });
    },
  };
}

/** GIE's approximate prefix-cache scorer: matched blocks / request blocks over the shared prefix index. */
export function prefixCacheScorer(params: z.output<typeof prefixParamsSchema>): Scorer {
  const tracker = new PrefixTracker(params);
  let matched = new Int32Array(64);
  let blocks = 0;
  return {
    name: "prefix-cache",
    score(request, candidates, out) {
      if (matched.length < candidates.length) matched = new Int32Array(candidates.length * 2);
      blocks = tracker.match(request, candidates, matched);
      for (let index = 0; index < candidates.length; index++) {
        out[index] = blocks === 0 ? 0 : matched[index]! / blocks;
      }
    },
    describe: (index) => `${matched[index]}/${blocks} blocks`,
    onRouted: (request, endpointId) => tracker.onRouted(request, endpointId),
    onReport: (report) => tracker.onReport(report),
    onEndpointsChanged: (endpointIds) => tracker.onEndpointsChanged(endpointIds),
  };
}

export const saturationParamsSchema = z
  .object({
    /** GIE's saturation detector defaults: a queue of 5 or a KV cache 80 % full means saturated. */
    maxQueue: z.number().min(0).default(5),
    maxKvCacheUsage: z.number().min(0).max(1).default(0.8),
  })
  .strict();

/** Drops saturated endpoints; unknown metrics never saturate (we cannot tell). */
export function notSaturatedFilter(params: z.output<typeof saturationParamsSchema>): Filter {
  return {
    name: "not-saturated",
    keep: (_request, candidate) =>
      (candidate.waiting ?? 0) <= params.maxQueue && (candidate.kvCacheUsage ?? 0) <= params.maxKvCacheUsage,
  };
}
