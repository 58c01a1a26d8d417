interface OriginState {
  startedAtMs: number;
  nextSequence: number;
  seenAtMs: number;
}

/** Origins not heard from for this long are forgotten once many have accumulated (restarted replicas). */
const forgetAfterMs = 10 * 60_000;
const pruneAbove = 256;

/**
 * Tracks each peer's event sequence numbers so a receiver knows how many events it missed: core NATS
 * is at most once, and a batch lost in an outage leaves no other trace.
 */
export class PeerSequences {
  private readonly origins = new Map<string, OriginState>();

  /**
   * Records a batch of `count` events starting at `firstSequence`; returns how many of the origin's
   * events were skipped since its previous batch. A restarted origin (new start time) or one seen for
   * the first time starts a fresh count: what happened before we listened is not a loss.
   */
  accept(origin: string, startedAtMs: number, firstSequence: number, count: number, nowMs: number): number {
    const state = this.origins.get(origin);
    const next = firstSequence + count;
    if (state === undefined || state.startedAtMs !== startedAtMs || firstSequence < state.nextSequence) {
      if (state === undefined && this.origins.size >= pruneAbove) this.prune(nowMs);
      this.origins.set(origin, { startedAtMs, nextSequence: next, seenAtMs: nowMs });
      return 0;
    }
    const missed = firstSequence - state.nextSequence;
    state.nextSequence = next;
    state.seenAtMs = nowMs;
    return missed;
  }

  get size(): number {
    return this.origins.size;
  }

  private prune(nowMs: number): void {
    for (const [origin, state] of this.origins) {
      if (nowMs - state.seenAtMs > forgetAfterMs) this.origins.delete(origin);
    }
  }
}
