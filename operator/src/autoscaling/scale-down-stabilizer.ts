/**
 * Scale-down stabilisation, as the HorizontalPodAutoscaler does it: more replicas apply at once, fewer
 * only once every recommendation of the last `delayMs` asked for fewer, and then only down to the highest
 * of them. A dip shorter than the delay never removes a replica, and load that comes and goes does not
 * make replicas come and go with it.
 */
export class ScaleDownStabilizer {
  private history: Array<{ at: number; replicas: number }> = [];
  private observedSince: number | undefined;

  stabilize(now: number, current: number, recommended: number, delayMs: number): number {
    this.observedSince ??= now;
    this.history.push({ at: now, replicas: recommended });
    this.history = this.history.filter((entry) => entry.at >= now - delayMs);
    if (recommended >= current) return recommended;
    // Too short a history (the operator just started leading) cannot show the load stayed low.
    if (now - this.observedSince < delayMs) return current;
    return Math.min(current, Math.max(...this.history.map((entry) => entry.replicas)));
  }
}
