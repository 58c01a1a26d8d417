/**
 * The Generic Cell Rate Algorithm, as plain arithmetic shared by the in-process limiter (and mirrored
 * by the Redis script). Chosen over a sliding window because its whole state is one number per limit —
 * the theoretical arrival time (TAT): when the limit would be back to full if nothing else came. A
 * check is O(1) with no per-request timestamps to store or expire, it spreads a per-minute allowance
 * smoothly instead of resetting at window edges, and weighted costs (tokens) are a multiplication.
 *
 * With a limit of L per window W, each unit costs an interval I = W / L; a request of `cost` units fits
 * when max(TAT, now) + cost·I − W ≤ now, i.e. the bucket may hold up to a whole window's worth.
 */

/** Float slack so that exactly L requests fit in a window despite W / L not being exact. */
const EPSILON = 1e-6;

export function gcraInterval(limit: number, windowMs: number): number {
  return windowMs / limit;
}

/** The time at which `cost` units fit; at or before `now` means they fit now. */
export function gcraAllowAt(
  tat: number,
  now: number,
  interval: number,
  cost: number,
  windowMs: number,
): number {
  return Math.max(tat, now) + cost * interval - windowMs;
}

export function gcraFits(allowAt: number, now: number): boolean {
  return allowAt <= now + EPSILON;
}

/** Units still available now. */
export function gcraRemaining(tat: number, now: number, interval: number, windowMs: number): number {
  const used = Math.max(tat, now) - now;
  return Math.max(0, Math.floor((windowMs - used) / interval + EPSILON));
}

/** Time until the limit is back to its full allowance. */
export function gcraResetMs(tat: number, now: number): number {
  return Math.max(0, Math.ceil(tat - now - EPSILON));
}

/**
 * TAT after correcting a charge of `estimated` units to `used`: a refund moves it back, extra use
 * moves it on from now (usage that was never charged still counts, even after the estimate aged out).
 */
export function gcraReconcile(
  tat: number,
  now: number,
  interval: number,
  estimated: number,
  used: number,
): number {
  const delta = used - estimated;
  if (delta === 0) return tat;
  return delta < 0 ? tat + delta * interval : Math.max(tat, now) + delta * interval;
}
