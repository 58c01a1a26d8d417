import { sleep } from "../providers/retry-policy.js";
import type { ModelRate } from "./jobs-config.js";

export interface ModelRateLimits {
  default?: ModelRate | undefined;
  models: Record<string, ModelRate>;
}

export interface RateLimiterClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const realClock: RateLimiterClock = {
  now: () => performance.now(),
  sleep,
};

/**
 * Token buckets per model, taken before a job runs so that a burst of jobs queues instead of failing
 * upstream. Each call reserves the next free slot (GCRA: a theoretical arrival time per model that
 * advances by one interval per request, with `burst − 1` intervals of credit), so waiting jobs start
 * in the order they asked, and the wait is known at once. Limits are per worker process.
 */
export class ModelRateLimiter {
  private readonly arrival = new Map<string, number>();

  constructor(
    private readonly limits: ModelRateLimits,
    private readonly clock: RateLimiterClock = realClock,
  ) {}

  /** Milliseconds until a request for `model` may start, reserving that slot; 0 without a limit. */
  reserve(model: string): number {
    const rate = this.limits.models[model] ?? this.limits.default;
    if (!rate) return 0;
    const interval = 60_000 / rate.requestsPerMinute;
    const now = this.clock.now();
    const arrival = Math.max(this.arrival.get(model) ?? now, now);
    const startAt = arrival - (rate.burst - 1) * interval;
    this.arrival.set(model, arrival + interval);
    return Math.max(0, startAt - now);
  }

  /** Waits for this model's next slot; rejects with the signal's reason when it aborts first. */
  async acquire(model: string, signal: AbortSignal): Promise<number> {
    const waitMs = this.reserve(model);
    if (waitMs > 0) await this.clock.sleep(waitMs, signal);
    return waitMs;
  }
}
