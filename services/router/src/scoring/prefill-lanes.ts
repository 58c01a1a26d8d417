/**
 * The router's model of each replica's prefill queue, in milliseconds of work.
 *
 * A replica computes prompts one prefill at a time (vLLM's scheduler and engine-sim's lane both run
 * prefills in arrival order; decodes ride along in the same steps), so a new request's first token
 * waits for every prefill routed there before it. The engine's metrics cannot say how much that is:
 * `num_requests_running` mixes prefilling and decoding sequences and `num_requests_waiting` counts
 * only requests not yet admitted, both a scrape interval old. The router, however, knows what it sent
 * and when, and the prefix index says how much of each prompt was cached there: every routed request
 * appends its estimated prefill to the replica's lane, and the lane drains in real time. This is
 * Dynamo's "active prefill tokens" bookkeeping, kept in time units so it adds to the TTFT estimate.
 */
export class PrefillLanes {
  /** Endpoint id → the time its lane is estimated to become free (clock ms). */
  private readonly freeAt = new Map<string, number>();

  /** Estimated wait before a prefill sent to the endpoint now would start, in ms. */
  backlog(endpointId: string, now: number): number {
    const free = this.freeAt.get(endpointId);
    return free === undefined || free <= now ? 0 : free - now;
  }

  /** Appends `workMs` of prefill sent now; returns the backlog it queued behind. */
  add(endpointId: string, now: number, workMs: number): number {
    const backlog = this.backlog(endpointId, now);
    this.freeAt.set(endpointId, now + backlog + Math.max(0, workMs));
    return backlog;
  }

  /** Takes back `workMs` sent earlier that the replica never received (the connection failed). */
  cancel(endpointId: string, now: number, workMs: number): void {
    const free = this.freeAt.get(endpointId);
    if (free === undefined || free <= now) return;
    this.freeAt.set(endpointId, Math.max(now, free - Math.max(0, workMs)));
  }

  /** Forgets endpoints that left the set routed among. */
  retainOnly(endpointIds: readonly string[]): void {
    const keep = new Set(endpointIds);
    for (const endpointId of [...this.freeAt.keys()])
      if (!keep.has(endpointId)) this.freeAt.delete(endpointId);
  }
}
