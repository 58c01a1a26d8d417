import type { LimitStatus } from "./rate-limiter.js";

/** The status a client should plan by: the one with less left (key and tenant limits both apply). */
export function tighterStatus(
  first: LimitStatus | undefined,
  second: LimitStatus | undefined,
): LimitStatus | undefined {
  if (!first) return second;
  if (!second) return first;
  if (first.remaining !== second.remaining) return first.remaining < second.remaining ? first : second;
  return first.limit <= second.limit ? first : second;
}
