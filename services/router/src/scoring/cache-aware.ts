import { z } from "zod";
import { RadixTree } from "../prefix/radix-tree.js";
import type { Candidate } from "./candidate.js";
import {
  type DecisionExplanation,
  explanation,
  type RoutingRequest,
  type Strategy,
  type StrategyDecision,
  strategyPlugin,
} from "./strategy.js";
import { formatNumber, RotatingTieBreak } from "./tie-break.js";

/** Defaults are SGLang router's (`router_args.py`). */
export const cacheAwareParamsSchema = z
  .object({
    cacheThreshold: z.number().min(0).max(1).default(0.3),
    balanceAbsThreshold: z.number().min(0).default(64),
    balanceRelThreshold: z.number().min(1).default(1.5),
    /** Characters per worker before LRU eviction (SGLang `max_tree_size` 2^26). */
    maxTreeChars: z
      .number()
      .int()
      .min(1)
      .default(2 ** 26),
  })
  .strict();

export type CacheAwareParams = z.input<typeof cacheAwareParamsSchema>;

type Mode = "imbalanced" | "cache-hit" | "smallest-tree";

/**
 * cache-aware: SGLang's router. The system is imbalanced iff (max − min load) > abs AND max > rel × min
 * (load = the router's in-flight counts); then shortest queue. Otherwise the worker with the longest
 * matched prefix in its approximate radix tree if match rate > cacheThreshold, else the worker with the
 * smallest tree (most free cache). The tree learns from routing history only. Score: the match rate.
 */
export function createCacheAware(params: z.output<typeof cacheAwareParamsSchema>): Strategy {
  const tree = new RadixTree(params.maxTreeChars);
  const tieBreak = new RotatingTieBreak();
  let matchedBySlot = new Int32Array(64);
  let values = new Float64Array(64);
  let rates = new Float64Array(64);
  let knownIds: readonly string[] = [];

  return {
    name: "cache-aware",
    decide(request, candidates): StrategyDecision {
      const count = candidates.length;
      if (values.length < count) {
        values = new Float64Array(count * 2);
        rates = new Float64Array(count * 2);
      }
      for (const candidate of candidates) tree.slotOf(candidate.endpoint.id);
      if (matchedBySlot.length < tree.slotCount) matchedBySlot = new Int32Array(tree.slotCount * 2);
      const text = textOf(request);
      tree.match(text, matchedBySlot);
      let minLoad = Number.POSITIVE_INFINITY;
      let maxLoad = Number.NEGATIVE_INFINITY;
      for (let index = 0; index < count; index++) {
        const candidate = candidates[index]!;
        const matched = matchedBySlot[tree.slotOf(candidate.endpoint.id)]!;
        rates[index] = text.length === 0 ? 0 : matched / text.length;
        if (!candidate.eligible) continue;
        minLoad = Math.min(minLoad, candidate.inFlight);
        maxLoad = Math.max(maxLoad, candidate.inFlight);
      }
      if (minLoad === Number.POSITIVE_INFINITY)
        throw new Error("cache-aware called without eligible candidates");
      const eligible = (index: number) => candidates[index]!.eligible;
      const imbalanced =
        maxLoad - minLoad > params.balanceAbsThreshold && maxLoad > params.balanceRelThreshold * minLoad;
      let mode: Mode;
      let chosenIndex: number;
      if (imbalanced) {
        mode = "imbalanced";
        for (let index = 0; index < count; index++) values[index] = candidates[index]!.inFlight;
        chosenIndex = tieBreak.pick(values.subarray(0, count), eligible, "min");
      } else {
        const best = tieBreak.pick(rates.subarray(0, count), eligible, "max");
        if (rates[best]! > params.cacheThreshold) {
          mode = "cache-hit";
          chosenIndex = best;
        } else {
          mode = "smallest-tree";
          for (let index = 0; index < count; index++)
            values[index] = tree.sizeOf(candidates[index]!.endpoint.id);
          chosenIndex = tieBreak.pick(values.subarray(0, count), eligible, "min");
        }
      }
      const scores = rates.subarray(0, count);
      return {
        chosen: candidates[chosenIndex]!,
        chosenIndex,
        scores,
        explain: () =>
          explain(candidates, { chosenIndex, mode, rates, minLoad, maxLoad }, tree, params.cacheThreshold),
      };
    },
    onRouted(request, endpointId) {
      tree.insert(textOf(request), endpointId);
    },
    onEndpointsChanged(endpointIds) {
      // Ids not in the list are removed from the tree; new ones get a slot on first decide.
      const keep = new Set(endpointIds);
      for (const id of knownIds) if (!keep.has(id)) tree.removeTenant(id);
      knownIds = [...endpointIds];
    },
  };
}

/** What one decision saw, for its explanation. */
interface Decided {
  chosenIndex: number;
  mode: Mode;
  rates: Float64Array;
  minLoad: number;
  maxLoad: number;
}

function explain(
  candidates: readonly Candidate[],
  decided: Decided,
  tree: RadixTree,
  cacheThreshold: number,
): DecisionExplanation {
  const { chosenIndex, rates, minLoad, maxLoad } = decided;
  const describe = (candidate: Candidate, index: number) =>
    `match ${formatNumber(rates[index]!)}, in-flight ${candidate.inFlight}, tree ${tree.sizeOf(candidate.endpoint.id)} chars`;
  const chosen = candidates[chosenIndex]!;
  const reasons: Record<Mode, string> = {
    imbalanced: `imbalanced (in-flight ${minLoad}..${maxLoad}), shortest queue ${chosen.inFlight}`,
    "cache-hit": `prefix match ${formatNumber(rates[chosenIndex]!)} > ${cacheThreshold}`,
    "smallest-tree": `best match ${formatNumber(rates[chosenIndex]!)} ≤ ${cacheThreshold}, smallest tree ${tree.sizeOf(chosen.endpoint.id)} chars`,
  };
  return explanation(`cache-aware: ${reasons[decided.mode]}`, () => candidates.map(describe));
}

/** An adapter's cache is separate from the base model's, so its name leads the text. */
function textOf(request: RoutingRequest): string {
  return request.adapter ? `${request.adapter}\u0000${request.prompt}` : request.prompt;
}

export const cacheAwarePlugin = strategyPlugin(cacheAwareParamsSchema, createCacheAware);
