/**
 * Set by the router, on a ModelDeployment that scales to zero, whenever a request for its model finds no
 * ready replica: the time of that request (RFC 3339). The autoscaler counts it as load while it is recent.
 */
export const demandAnnotation = "strata.dev/demand";

/**
 * Tells whether requests are waiting for a replica. A new annotation value is new demand, timed by the
 * operator's clock when it is seen, so a router whose clock is off still wakes the model; a value already
 * there when the operator starts counts only when its own time is recent.
 */
export class DemandTracker {
  private readonly seen = new Map<string, { value: string; at: number | undefined }>();

  pending(
    key: string,
    annotations: Record<string, string> | undefined,
    now: number,
    holdMs: number,
  ): boolean {
    const value = annotations?.[demandAnnotation];
    if (value === undefined) {
      this.seen.delete(key);
      return false;
    }
    let entry = this.seen.get(key);
    if (entry?.value !== value) {
      const written = Date.parse(value);
      const at = entry ? now : Number.isNaN(written) || now - written >= holdMs ? undefined : written;
      entry = { value, at };
      this.seen.set(key, entry);
    }
    return entry.at !== undefined && now - entry.at < holdMs;
  }

  forget(key: string): void {
    this.seen.delete(key);
  }
}
