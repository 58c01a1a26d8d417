import { z } from "zod";
import type { Candidate } from "./candidate.js";
import { explanation, type Strategy, type StrategyDecision, strategyPlugin } from "./strategy.js";
import { formatNumber, RotatingTieBreak } from "./tie-break.js";

export const leastLoadParamsSchema = z
  .object({
    weights: z
      .object({
        inFlight: z.number().min(0).default(1),
        waiting: z.number().min(0).default(1),
        running: z.number().min(0).default(1),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type LeastLoadParams = z.input<typeof leastLoadParamsSchema>;

/**
 * Least load: load = w₁·in-flight (ours) + w₂·engine waiting + w₃·engine running; lowest wins, ties
 * rotate (KubeAI's LeastLoad and AIBrix's least-request make the same choice). The reported score is
 * the load itself, lower wins.
 */
export function createLeastLoad(params: z.output<typeof leastLoadParamsSchema>): Strategy {
  const { weights } = params;
  const tieBreak = new RotatingTieBreak();
  const loadOf = (candidate: Candidate) =>
    weights.inFlight * candidate.inFlight +
    weights.waiting * (candidate.waiting ?? 0) +
    weights.running * (candidate.running ?? 0);

  return {
    name: "least-load",
    decide(_request, candidates): StrategyDecision {
      const scores = candidates.map(loadOf);
      const chosenIndex = tieBreak.pick(scores, (index) => candidates[index]!.eligible, "min");
      if (chosenIndex < 0) throw new Error("least-load called without eligible candidates");
      const ties = tieBreak.lastTies;
      return {
        chosen: candidates[chosenIndex]!,
        chosenIndex,
        scores,
        explain() {
          const healthy = candidates.filter((candidate) => candidate.eligible).length;
          const tie = ties > 1 ? ` (tied with ${ties - 1} more, rotating)` : "";
          const best = formatNumber(scores[chosenIndex]!);
          const chosen = describeLoad(candidates[chosenIndex]!);
          return explanation(`least load ${best} of ${healthy} healthy: ${chosen}${tie}`, () =>
            candidates.map(describeLoad),
          );
        },
      };
    },
  };
}

export const leastLoadPlugin = strategyPlugin(leastLoadParamsSchema, createLeastLoad);

function describeLoad(candidate: Candidate): string {
  const engine =
    candidate.waiting === undefined && candidate.running === undefined
      ? "no engine metrics"
      : `waiting ${formatNumber(candidate.waiting ?? 0)}, running ${formatNumber(candidate.running ?? 0)}`;
  return `in-flight ${candidate.inFlight}, ${engine}`;
}
