import type { Redis } from "ioredis";
import type { ExactStore } from "./exact-store.js";
import { decodeAnswer, encodeAnswer, type StoredAnswer } from "./stored-answer.js";

export interface RedisExactStoreOptions {
  /**
   * A client of its own, created with the cache's short command timeout (cache.exact.redisTimeoutMs):
   * a slow lookup fails fast, and large answers never queue behind, or ahead of, the rate limiter's
   * commands on a shared connection.
   */
  redis: Pick<Redis, "getBuffer" | "set">;
  keyPrefix: string;
}

/**
 * The exact cache in Redis, shared by every gateway replica: one string per answer with a
 * millisecond TTL (SET … PX), so Redis expires entries itself and evicts under its own maxmemory
 * policy. Errors (Redis down or slow) are thrown; the cache step counts them and goes upstream.
 */
export class RedisExactStore implements ExactStore {
  readonly kind = "redis";

  constructor(private readonly options: RedisExactStoreOptions) {}

  async get(key: string): Promise<StoredAnswer | undefined> {
    const bytes = await this.options.redis.getBuffer(this.options.keyPrefix + key);
    return bytes ? decodeAnswer(bytes) : undefined;
  }

  async set(key: string, answer: StoredAnswer, ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.round(ttlMs));
    await this.options.redis.set(this.options.keyPrefix + key, encodeAnswer(answer), "PX", ttl);
  }
}
