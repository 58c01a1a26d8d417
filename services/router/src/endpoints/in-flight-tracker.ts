import { type Clock, systemClock } from "../clock.js";

interface InFlightEntry {
  endpointId: string;
  startedAt: number;
}

/**
 * The router's own count of requests it sent to each endpoint and not yet heard back about. Engines'
 * metrics lag by a scrape interval; this count moves with every Route, so bursts spread at once.
 * Route adds by request id, Report removes it; removing an unknown id is a no-op, which makes Report
 * idempotent. Entries whose Report never came are swept after a timeout so counts cannot leak.
 */
export class InFlightTracker {
  private readonly entries = new Map<string, InFlightEntry>();
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly timeoutMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Records a routed request. Re-routing the same id (a caller's retry) moves it, never counts it twice. */
  begin(requestId: string, endpointId: string): void {
    this.end(requestId);
    this.entries.set(requestId, { endpointId, startedAt: this.clock.now() });
    this.counts.set(endpointId, (this.counts.get(endpointId) ?? 0) + 1);
  }

  /** Removes a request; returns the endpoint it was counted against, or undefined if it was not tracked. */
  end(requestId: string): string | undefined {
    const entry = this.entries.get(requestId);
    if (!entry) return undefined;
    this.entries.delete(requestId);
    this.decrement(entry.endpointId);
    return entry.endpointId;
  }

  count(endpointId: string): number {
    return this.counts.get(endpointId) ?? 0;
  }

  /** Every endpoint with requests in flight, for the metrics gauge. */
  countsByEndpoint(): ReadonlyMap<string, number> {
    return this.counts;
  }

  /** Drops entries older than the timeout; returns how many were dropped. */
  sweep(): number {
    const cutoff = this.clock.now() - this.timeoutMs;
    let swept = 0;
    for (const [requestId, entry] of this.entries) {
      if (entry.startedAt > cutoff) continue;
      this.entries.delete(requestId);
      this.decrement(entry.endpointId);
      swept++;
    }
    return swept;
  }

  private decrement(endpointId: string): void {
    const remaining = (this.counts.get(endpointId) ?? 0) - 1;
    if (remaining > 0) this.counts.set(endpointId, remaining);
    else this.counts.delete(endpointId);
  }
}
