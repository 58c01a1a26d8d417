import { z } from "zod";
import type { Candidate } from "./candidate.js";
import type { RoutingRequest, Strategy, StrategyDecision } from "./strategy.js";

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

/** Scores closer than this are a tie; loads are small integers times weights, so this only absorbs float noise. */
const tieTolerance = 1e-9;

/**
 * Least load: load = w₁·in-flight (ours) + w₂·engine waiting + w₃·engine running; lowest wins. Ties
 * rotate per model so equal endpoints share traffic instead of the first one taking every request
 * while metrics lag (KubeAI's LeastLoad and AIBrix's least-request make the same choice).
 */
export function createLeastLoad(params: unknown = {}): Strategy {
  const { weights } = leastLoadParamsSchema.parse(params);
  const nextTie = new Map<string, number>();

  const loadOf = (candidate: Candidate) =>
    weights.inFlight * candidate.inFlight +
    weights.waiting * (candidate.waiting ?? 0) +
    weights.running * (candidate.running ?? 0);

  return {
    name: "least-load",
    decide(request: RoutingRequest, candidates: readonly Candidate[]): StrategyDecision {
      const scores = candidates.map((candidate) => ({
        score: loadOf(candidate),
        detail: describeLoad(candidate),
      }));
      const eligible = candidates.map((_, index) => index).filter((index) => candidates[index]!.eligible);
      if (eligible.length === 0) throw new Error("least-load called without eligible candidates");
      const best = Math.min(...eligible.map((index) => scores[index]!.score));
      const tied = eligible.filter((index) => scores[index]!.score - best <= tieTolerance);
      const turn = nextTie.get(request.model) ?? 0;
      nextTie.set(request.model, (turn + 1) % Number.MAX_SAFE_INTEGER);
      const chosenIndex = tied[turn % tied.length]!;
      const tie = tied.length > 1 ? ` (tied with ${tied.length - 1} more, rotating)` : "";
      return {
        chosen: candidates[chosenIndex]!,
        scores,
        reason: `least load ${formatNumber(best)} of ${eligible.length} healthy: ${scores[chosenIndex]!.detail}${tie}`,
      };
    },
  };
}

function describeLoad(candidate: Candidate): string {
  const engine =
    candidate.waiting === undefined && candidate.running === undefined
      ? "no engine metrics"
      : `waiting ${formatNumber(candidate.waiting ?? 0)}, running ${formatNumber(candidate.running ?? 0)}`;
  return `in-flight ${candidate.inFlight}, ${engine}`;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}
