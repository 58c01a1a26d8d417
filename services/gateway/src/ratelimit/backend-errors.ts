import type { Counter, Logger } from "@strata/kit";

export interface BackendErrorReporterOptions {
  counter: Pick<Counter<"operation">, "inc">;
  logger: Logger;
  /** Shortest time between two log lines; errors in between are counted and summed into the next. */
  logIntervalMs?: number;
  now?: () => number;
}

/**
 * Counts failures of the shared limit store and logs them without flooding: when Redis is down every
 * request fails the same way, and one line every few seconds says as much as thousands would.
 */
export class BackendErrorReporter {
  private lastLogAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;
  private readonly now: () => number;

  constructor(private readonly options: BackendErrorReporterOptions) {
    this.now = options.now ?? Date.now;
  }

  report(operation: string, error: unknown, outcome: string): void {
    this.options.counter.inc({ operation });
    const now = this.now();
    if (now - this.lastLogAt < (this.options.logIntervalMs ?? 10_000)) {
      this.suppressed++;
      return;
    }
    this.options.logger.warn(
      { err: error, operation, outcome, suppressedSinceLastLog: this.suppressed },
      "rate-limit store unavailable",
    );
    this.lastLogAt = now;
    this.suppressed = 0;
  }
}
