import { z } from "zod";

const redisDefaults = {
  onError: "serve",
  keyPrefix: "strata:",
  commandTimeoutMs: 250,
  leaseTtlMs: 60_000,
} as const;

/** How rate limits are enforced; the limits themselves are in `limits` (defaults) and the database. */
export const rateLimitConfigSchema = z
  .object({
    /**
     * Completion tokens counted for a request without max_tokens when estimating its tokens per
     * minute; corrected to the real count when it ends, so this only shapes bursts.
     */
    defaultCompletionTokens: z.coerce.number().int().min(0).default(256),
    /** Used when REDIS_URL is set: limits shared by every replica. */
    redis: z
      .object({
        /**
         * When Redis cannot be reached: `serve` lets requests through unlimited (availability first;
         * the failure is logged and counted), `refuse` answers 503 (limits first).
         */
        onError: z.enum(["serve", "refuse"]).default(redisDefaults.onError),
        keyPrefix: z.string().default(redisDefaults.keyPrefix),
        /** A check slower than this counts as Redis being down: the hot path never waits longer. */
        commandTimeoutMs: z.coerce.number().int().positive().default(redisDefaults.commandTimeoutMs),
        /** A crashed gateway's concurrency slots free themselves after this long (running ones are renewed). */
        leaseTtlMs: z.coerce.number().int().min(1_000).default(redisDefaults.leaseTtlMs),
      })
      .strict()
      .default(redisDefaults),
  })
  .strict()
  .default({ defaultCompletionTokens: 256, redis: redisDefaults });

export type RateLimitConfig = z.output<typeof rateLimitConfigSchema>;

export const rateLimitEnv = {
  "rateLimits.defaultCompletionTokens": "GATEWAY_RATELIMIT_DEFAULT_COMPLETION_TOKENS",
  "rateLimits.redis.onError": "GATEWAY_RATELIMIT_REDIS_ON_ERROR",
  "rateLimits.redis.keyPrefix": "GATEWAY_REDIS_KEY_PREFIX",
  "rateLimits.redis.commandTimeoutMs": "GATEWAY_RATELIMIT_REDIS_TIMEOUT_MS",
  "rateLimits.redis.leaseTtlMs": "GATEWAY_RATELIMIT_LEASE_TTL_MS",
} as const;
