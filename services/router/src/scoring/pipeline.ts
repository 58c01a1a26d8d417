import type { Candidate } from "./candidate.js";
import {
  explanation,
  type RoutingReport,
  type RoutingRequest,
  type Strategy,
  type StrategyDecision,
} from "./strategy.js";
import { formatNumber, RotatingTieBreak } from "./tie-break.js";

/** Keeps or drops one eligible candidate for this request (saturation, adapter, …). */
export interface Filter {
  readonly name: string;
  keep(request: RoutingRequest, candidate: Candidate): boolean;
}

/**
 * Scores the whole candidate list in one call, writing values in [0, 1] into `out` (higher is better).
 * Weights live in configuration, not here. Scorers may keep state through the same hooks strategies get.
 */
export interface Scorer {
  readonly name: string;
  score(request: RoutingRequest, candidates: readonly Candidate[], out: Float64Array): void;
  /** Explains the value of the last score() call for one candidate. */
  describe?(index: number): string;
  onRouted?(request: RoutingRequest, endpointId: string): void;
  onReport?(report: RoutingReport): void;
  onEndpointsChanged?(endpointIds: readonly string[]): void;
}

/** Chooses one index among the allowed ones from the weighted totals. */
export interface Picker {
  readonly name: string;
  pick(totals: Float64Array, allowed: (index: number) => boolean): number;
}

/** GIE's max-score picker, ties rotating rather than random so runs are reproducible. */
export function maxScorePicker(): Picker {
  const tieBreak = new RotatingTieBreak();
  return { name: "max-score", pick: (totals, allowed) => tieBreak.pick(totals, allowed, "max") };
}

export interface WeightedScorer {
  scorer: Scorer;
  weight: number;
}

export interface PipelineSpec {
  filters: readonly Filter[];
  scorers: readonly WeightedScorer[];
  picker: Picker;
}

/**
 * A strategy composed GIE-style: filters → weighted scorers → picker. The reported score is the
 * weighted mean of the scorers (so still in [0, 1]). If the filters leave nothing, they are ignored for
 * this request rather than failing it: a saturated fleet still serves, and the reason says so.
 */
export function composeStrategy(name: string, spec: PipelineSpec): Strategy {
  const totalWeight = spec.scorers.reduce((sum, { weight }) => sum + weight, 0);
  let totals = new Float64Array(64);
  let parts: Float64Array[] = spec.scorers.map(() => new Float64Array(64));
  let kept = new Uint8Array(64);
  const hooks = spec.scorers.map(({ scorer }) => scorer);

  return {
    name,
    decide(request, candidates): StrategyDecision {
      const count = candidates.length;
      if (totals.length < count) {
        totals = new Float64Array(count * 2);
        parts = spec.scorers.map(() => new Float64Array(count * 2));
        kept = new Uint8Array(count * 2);
      }
      let keptCount = 0;
      let eligibleCount = 0;
      let rejectedBy: string | undefined;
      for (let index = 0; index < count; index++) {
        const candidate = candidates[index]!;
        kept[index] = 0;
        if (!candidate.eligible) continue;
        eligibleCount++;
        const rejecting = spec.filters.find((filter) => !filter.keep(request, candidate));
        if (rejecting) rejectedBy ??= rejecting.name;
        else {
          kept[index] = 1;
          keptCount++;
        }
      }
      if (eligibleCount === 0) throw new Error(`${name} called without eligible candidates`);
      const filtersIgnored = keptCount === 0;
      totals.fill(0, 0, count);
      spec.scorers.forEach(({ scorer, weight }, position) => {
        const out = parts[position]!;
        scorer.score(request, candidates, out);
        for (let index = 0; index < count; index++)
          totals[index]! += (weight * out[index]!) / (totalWeight || 1);
      });
      const allowed = (index: number) => candidates[index]!.eligible && (filtersIgnored || kept[index] === 1);
      const chosenIndex = spec.picker.pick(totals.subarray(0, count), allowed);
      return {
        chosen: candidates[chosenIndex]!,
        chosenIndex,
        scores: totals.subarray(0, count),
        explain() {
          const describe = (candidate: Candidate, index: number) => {
            if (candidate.eligible && !filtersIgnored && kept[index] === 0)
              return "filtered for this request";
            const terms = spec.scorers.map(({ scorer, weight }, position) => {
              const note = scorer.describe ? ` (${scorer.describe(index)})` : "";
              return `${scorer.name} ${formatNumber(parts[position]![index]!)}×${weight}${note}`;
            });
            return terms.length === 0 ? "no scorers" : terms.join(", ");
          };
          const ignored = filtersIgnored
            ? `; every candidate rejected by ${rejectedBy}, filters ignored`
            : "";
          const score = formatNumber(totals[chosenIndex]!);
          const chosen = describe(candidates[chosenIndex]!, chosenIndex);
          return explanation(`${name}: score ${score}: ${chosen}${ignored}`, () => candidates.map(describe));
        },
      };
    },
    onRouted(request, endpointId) {
      for (const scorer of hooks) scorer.onRouted?.(request, endpointId);
    },
    onReport(report) {
      for (const scorer of hooks) scorer.onReport?.(report);
    },
    onEndpointsChanged(endpointIds) {
      for (const scorer of hooks) scorer.onEndpointsChanged?.(endpointIds);
    },
  };
}
