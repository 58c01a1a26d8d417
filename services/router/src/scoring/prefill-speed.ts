/**
 * How much slower (> 1) or faster (< 1) each replica prefills than the configured cost model says,
 * learned from Reports. Replicas differ (GPU generation, tensor parallelism, a noisy neighbour), and
 * a configured ms-per-token is a guess; the first-token times the gateway reports are the truth.
 *
 * Only requests that found their replica's prefill queue empty teach it: their time to first token
 * is overhead + uncached tokens × cost with nothing else mixed in, so the ratio observed / predicted
 * measures the replica's speed alone. The average runs in log space (a request twice too slow and one
 * twice too fast cancel out) with each ratio clamped, so one stalled request cannot swing it.
 */
export class PrefillSpeed {
  private readonly logFactor = new Map<string, number>();

  constructor(
    /** Weight of one observation in the running average (0 disables learning). */
    private readonly weight: number,
    /** Largest factor, and inverse of the smallest, one observation or the average may reach. */
    private readonly maxFactor: number,
  ) {}

  /** Multiplier on the configured prefill cost for this endpoint; 1 until it has reports. */
  factor(endpointId: string): number {
    const log = this.logFactor.get(endpointId);
    return log === undefined ? 1 : Math.exp(log);
  }

  /** One request's observed time to first token against what the cost model predicted for it. */
  observe(endpointId: string, observedMs: number, predictedMs: number): void {
    if (this.weight <= 0 || !(observedMs > 0) || !(predictedMs > 0)) return;
    const bound = Math.log(this.maxFactor);
    const sample = clamp(Math.log(observedMs / predictedMs), bound);
    const current = this.logFactor.get(endpointId) ?? 0;
    this.logFactor.set(endpointId, clamp(current + this.weight * (sample - current), bound));
  }

  retainOnly(endpointIds: readonly string[]): void {
    const keep = new Set(endpointIds);
    for (const endpointId of [...this.logFactor.keys()])
      if (!keep.has(endpointId)) this.logFactor.delete(endpointId);
  }
}

function clamp(value: number, bound: number): number {
  return Math.max(-bound, Math.min(bound, value));
}
