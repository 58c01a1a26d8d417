import { type EnvMapping, jsonSetting } from "@strata/kit";
import { z } from "zod";

const MIB = 1024 * 1024;

/**
 * Which requests the exact cache serves when the request says nothing (x-strata-cache absent):
 * `deterministic` only those whose answer is reproducible (see cache-policy.ts), `always` every
 * cacheable request, `off` none.
 */
export const exactModes = ["deterministic", "always", "off"] as const;
export type ExactMode = (typeof exactModes)[number];

/** A tenant's own cache settings; unset fields take the gateway-wide defaults. */
export const tenantCachePolicySchema = z
  .object({
    exact: z.enum(exactModes).optional(),
    /** Opts every request of the tenant into the semantic cache. */
    semantic: z.boolean().optional(),
    ttlSeconds: z.number().int().positive().optional(),
    semanticThreshold: z.number().gt(0).max(1).optional(),
  })
  .strict();

export type TenantCachePolicyOverrides = z.output<typeof tenantCachePolicySchema>;

/** Tenants by id → their settings; from the environment as a JSON object. */
const tenantsSchema = jsonSetting(z.record(z.string(), tenantCachePolicySchema));

export const cacheConfigSchema = z
  .object({
    exact: z
      .object({
        mode: z.enum(exactModes).default("deterministic"),
        ttlSeconds: z.coerce.number().int().positive().default(3_600),
        /** Upper bound for the per-request x-strata-cache-ttl header. */
        maxTtlSeconds: z.coerce
          .number()
          .int()
          .positive()
          .default(7 * 24 * 3_600),
        /** `auto`: Redis when REDIS_URL is set (shared by every replica), else in-process. */
        store: z.enum(["auto", "memory", "redis"]).default("auto"),
        /** Bytes the in-process store keeps before it evicts the least recently used answers. */
        maxBytes: z.coerce
          .number()
          .int()
          .positive()
          .default(64 * MIB),
        /** Answers larger than this are not cached (they would crowd out many small ones). */
        maxEntryBytes: z.coerce.number().int().positive().default(MIB),
        redisKeyPrefix: z.string().default("strata:cache:"),
        /** A Redis lookup slower than this counts as a miss, so a slow Redis never slows requests much. */
        redisTimeoutMs: z.coerce.number().int().positive().default(50),
      })
      .strict()
      .prefault({}),
    semantic: z
      .object({
        /** Whether the semantic cache exists at all; tenants and requests still have to opt in. */
        enabled: z.stringbool().or(z.boolean()).default(true),
        /**
         * Cosine similarity above which a cached answer is served. 0.95 keeps to near-duplicates with
         * the built-in embedder; real embedding models usually want 0.9–0.95.
         */
        threshold: z.coerce.number().gt(0).max(1).default(0.95),
        ttlSeconds: z.coerce.number().int().positive().default(3_600),
        /**
         * `auto`: pgvector in a real Postgres that has it; the in-process index with the embedded
         * PGlite (where pgvector runs as WebAssembly on the one backend every query shares: about 5×
         * slower at 100k entries, see bench/cache.ts) or without pgvector.
         */
        index: z.enum(["auto", "memory", "pgvector"]).default("auto"),
        maxEntries: z.coerce.number().int().positive().default(100_000),
        /** Bytes the in-process index keeps (vectors, links and answers) before evicting the oldest. */
        maxBytes: z.coerce
          .number()
          .int()
          .positive()
          .default(256 * MIB),
        /** HNSW search breadth: more finds the nearest entry more reliably, more slowly. */
        efSearch: z.coerce.number().int().min(1).max(1_000).default(32),
        /** How often expired and surplus entries are deleted. */
        sweepIntervalMs: z.coerce.number().int().positive().default(60_000),
      })
      .strict()
      .prefault({}),
    tenants: tenantsSchema.default({}),
  })
  .strict();

export type CacheConfig = z.output<typeof cacheConfigSchema>;

export const cacheEnv: EnvMapping = {
  "cache.exact.mode": "GATEWAY_CACHE_MODE",
  "cache.exact.ttlSeconds": "GATEWAY_CACHE_TTL_SECONDS",
  "cache.exact.maxTtlSeconds": "GATEWAY_CACHE_MAX_TTL_SECONDS",
  "cache.exact.store": "GATEWAY_CACHE_STORE",
  "cache.exact.maxBytes": "GATEWAY_CACHE_MAX_BYTES",
  "cache.exact.maxEntryBytes": "GATEWAY_CACHE_MAX_ENTRY_BYTES",
  "cache.semantic.enabled": "GATEWAY_SEMANTIC_CACHE_ENABLED",
  "cache.semantic.threshold": "GATEWAY_SEMANTIC_CACHE_THRESHOLD",
  "cache.semantic.ttlSeconds": "GATEWAY_SEMANTIC_CACHE_TTL_SECONDS",
  "cache.semantic.index": "GATEWAY_SEMANTIC_CACHE_INDEX",
  "cache.semantic.maxEntries": "GATEWAY_SEMANTIC_CACHE_MAX_ENTRIES",
  "cache.semantic.maxBytes": "GATEWAY_SEMANTIC_CACHE_MAX_BYTES",
  "cache.tenants": "GATEWAY_CACHE_TENANTS",
};
