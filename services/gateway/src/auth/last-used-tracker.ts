import type { Database, Logger } from "@strata/kit";

export interface LastUsedTrackerOptions {
  db: Pick<Database, "query">;
  logger: Pick<Logger, "warn">;
  /** How often the keys used since the last write are written; last_used_at trails by up to this. */
  flushIntervalMs: number;
}

/**
 * Records when keys were last used without a write per request: ids collect in a set and one UPDATE
 * per interval stamps them all. Precision is the interval, which is all "last used" needs.
 */
export class LastUsedTracker {
  private used = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly options: LastUsedTrackerOptions) {}

  touch(apiKeyId: string): void {
    this.used.add(apiKeyId);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.options.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Writes what has collected; also called on shutdown so the last interval is not lost. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const ids = [...this.used];
    this.used = new Set();
    if (ids.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() => this.write(ids));
    return this.flushing;
  }

  private async write(ids: string[]): Promise<void> {
    try {
      await this.options.db.query(
        "UPDATE gateway.api_keys SET last_used_at = now() WHERE id = ANY($1::text[])",
        [ids],
      );
    } catch (error) {
      // Losing one interval's stamps is harmless; retrying would only pile writes on a struggling database.
      this.options.logger.warn(
        { err: error, keys: ids.length },
        "could not record when API keys were last used",
      );
    }
  }
}
