import type { Logger } from "@strata/kit";

export interface PeriodicTaskOptions {
  intervalMs: number;
  /** One pass; `signal` aborts when the task stops, for a long pass to end between steps. */
  pass: (signal: AbortSignal) => Promise<void>;
  /** Logged with a failed pass, e.g. "job sweep". */
  name: string;
  logger: Pick<Logger, "warn">;
}

/**
 * A pass run on an interval: passes never overlap (a call while one runs shares it), a failed pass is
 * logged and tried again next time, the timer never keeps the process alive, and stop() waits for the
 * pass in progress.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly options: PeriodicTaskOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.run(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.running;
  }

  /** One pass now; overlapping calls share the pass in progress. */
  run(): Promise<void> {
    this.running ??= this.options
      .pass(this.stopping.signal)
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error }, `${this.options.name} failed; retrying next time`),
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
