/**
 * The one back-off curve of the router: `baseMs` doubled per step, capped at `maxMs` (never below
 * `baseMs`). Health re-checks of a failing endpoint and repeated outlier ejections both follow it.
 */
export function exponentialBackoffMs(baseMs: number, step: number, maxMs: number): number {
  const doublings = Math.min(Math.max(0, step), 30);
  return Math.min(baseMs * 2 ** doublings, Math.max(maxMs, baseMs));
}
