import type { Candidate } from "./candidate.js";
import { boundedLoadOf } from "./load.js";
import { formatNumber } from "./tie-break.js";

/** kv-aware's per-candidate numbers for one decision, parallel to the candidates. */
export interface CandidateEstimates {
  cached: Float64Array;
  /** Wait before its prefill could start, ms. */
  queue: Float64Array;
  /** Estimated time to first token, ms. */
  estimates: Float64Array;
  /** The charge for load beyond the cap, ms. */
  overload: Float64Array;
  /** What the choice minimised: the estimate plus the weighted prefill it adds and the overload, ms. */
  costs: Float64Array;
}

/** The decision-wide numbers explanations quote. */
export interface Estimates {
  promptTokens: number;
  blocks: number;
  /** Cost of one request in the engine's own waiting queue, ms. */
  perQueued: number;
  cap: number;
  cappedCount: number;
  hit: boolean;
}

/** The reason line: the chosen estimate and what decided it (a cached prefix or the shortest queue). */
export function describeChoice(index: number, numbers: CandidateEstimates, view: Estimates): string {
  const queue = formatMs(numbers.queue[index]!);
  const cached = numbers.cached[index]!;
  const what = view.hit
    ? `cached ${cached}/${view.promptTokens} tokens, queue ${queue}`
    : `no cached prefix (${view.blocks} blocks) anywhere, least loaded: queue ${queue}`;
  const caps = view.cappedCount > 0 ? `; ${view.cappedCount} over load cap ${formatNumber(view.cap)}` : "";
  return `kv-aware: est. TTFT ${formatMs(numbers.estimates[index]!)} (${what})${caps}`;
}

/** One candidate's line: each term of its estimate, its cost, and whether the load cap excluded it. */
export function describeEstimate(
  candidate: Candidate,
  index: number,
  numbers: CandidateEstimates,
  view: Estimates,
  speed: number,
): string {
  const waiting = candidate.waiting ?? 0;
  const engineQueue = waiting * view.perQueued * speed;
  const queue =
    waiting > 0 && engineQueue >= numbers.queue[index]!
      ? `queue ${formatNumber(waiting)} × ${formatMs(view.perQueued * speed)} (engine waiting)`
      : `queue ${formatMs(numbers.queue[index]!)} (prefill routed here)`;
  const cached = numbers.cached[index]!;
  const prefill = `prefill ${view.promptTokens - cached} tokens (cached ${cached}/${view.promptTokens})`;
  const pace = Math.abs(speed - 1) < 0.005 ? "" : ` at ${speed.toFixed(2)}× configured cost`;
  const running = `running ${formatNumber(candidate.running ?? 0)}`;
  const cost = `cost ${formatMs(numbers.costs[index]!)}`;
  const cap =
    numbers.overload[index]! > 0
      ? ` incl. ${formatMs(numbers.overload[index]!)} over load cap (load ${formatNumber(boundedLoadOf(candidate))} + 1 > ${formatNumber(view.cap)})`
      : "";
  return `est. TTFT ${formatMs(numbers.estimates[index]!)}: ${queue}, ${prefill}${pace}, ${running}; ${cost}${cap}`;
}

export function formatMs(value: number): string {
  return value >= 10 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}
