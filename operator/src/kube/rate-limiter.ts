import { type Clock, systemClock } from "../clock.js";

/** How long to wait before retrying an item (client-go's workqueue.RateLimiter). */
export interface RateLimiter {
  when(key: string): number;
  forget(key: string): void;
  failures(key: string): number;
}

/** base × 2^failures per item, capped: a broken object backs off, the others are not slowed down. */
export class ItemExponentialRateLimiter implements RateLimiter {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  when(key: string): number {
    const failures = this.counts.get(key) ?? 0;
    this.counts.set(key, failures + 1);
    return Math.min(this.baseMs * 2 ** failures, this.maxMs);
  }

  forget(key: string): void {
    this.counts.delete(key);
  }

  failures(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}

/**
 * A token bucket over all items: however many objects fail at once, retries reach the API server at no
 * more than `perSecond` (after a burst), so a cluster-wide outage does not turn into a retry storm.
 */
export class BucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  when(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    // Reserve a token even when it is not there yet: a negative balance is the queue of waiting retries.
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.perSecond) * 1000);
  }

  forget(): void {}

  failures(): number {
    return 0;
  }
}

/** The longest wait any of the limiters asks for (client-go's DefaultControllerRateLimiter shape). */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    return Math.max(...this.limiters.map((limiter) => limiter.when(key)));
  }

  forget(key: string): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }

  failures(key: string): number {
    return Math.max(...this.limiters.map((limiter) => limiter.failures(key)));
  }
}
