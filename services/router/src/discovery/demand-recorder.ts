import type { Logger } from "@strata/kit";

/**
 * Set on a ModelDeployment that scales to zero whenever a request for its model finds no ready
 * replica: the time of that request (RFC 3339). The operator's autoscaler counts it as load, so a
 * model at zero replicas gets one back. Every router replica may write it; the latest write wins.
 */
export const demandAnnotation = "strata.dev/demand";

export interface DemandRecorderOptions {
  /** Merge-patches the ModelDeployment `namespace/name` with `body`. */
  patch(namespace: string, name: string, body: unknown): Promise<unknown>;
  /** Writes for one ModelDeployment at most this often, however many requests wait. */
  intervalMs: number;
  now?: () => number;
  onWrite?(result: "written" | "failed"): void;
  logger: Logger;
}

/**
 * Tells the operator that requests are waiting for a model with no replica, by annotating its
 * ModelDeployments. Held requests retry routing every few seconds; one write per interval per
 * resource keeps the API traffic flat while they wait, and keeps the demand fresh until they are served.
 */
export class DemandRecorder {
  private readonly lastWrite = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: DemandRecorderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Records demand on each ModelDeployment (`namespace/name`); never throws, never waits. */
  record(keys: readonly string[]): void {
    const now = this.now();
    for (const key of keys) {
      const last = this.lastWrite.get(key);
      if (last !== undefined && now - last < this.options.intervalMs) continue;
      this.lastWrite.set(key, now);
      const slash = key.indexOf("/");
      const body = { metadata: { annotations: { [demandAnnotation]: new Date(now).toISOString() } } };
      this.options.patch(key.slice(0, slash), key.slice(slash + 1), body).then(
        () => this.options.onWrite?.("written"),
        (error: unknown) => {
          // Tried again after the interval like a success, so a missing permission logs once per interval.
          this.options.onWrite?.("failed");
          this.options.logger.warn(
            { err: error, modelDeployment: key },
            `cannot annotate ModelDeployment ${key} with ${demandAnnotation}: the router needs patch on modeldeployments.strata.dev`,
          );
        },
      );
    }
  }
}
