import type { Candidate } from "./candidate.js";

/**
 * Requests waiting for their first token: the engine's queue plus requests this router sent that the
 * engine has not counted yet (its metrics lag by a scrape interval, our in-flight count does not).
 * Without engine metrics every in-flight request counts as queued, which errs towards spreading.
 */
export function queuedOf(candidate: Candidate): number {
  const waiting = candidate.waiting ?? 0;
  const running = candidate.running ?? 0;
  return waiting + Math.max(0, candidate.inFlight - waiting - running);
}

/**
 * The load bounded-load caps compare: the router's own in-flight count (what KubeAI's CHWBL uses),
 * or the engine's count when larger (after a router restart our count starts from zero).
 */
export function boundedLoadOf(candidate: Candidate): number {
  const engine = (candidate.waiting ?? 0) + (candidate.running ?? 0);
  return Math.max(candidate.inFlight, engine);
}
