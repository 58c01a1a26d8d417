import { ConfigError, type EnvMapping, fromEnv, parseConfig } from "@strata/kit";
import { z } from "zod";
import { adminConfigSchema, adminEnv } from "./admin/admin-config.js";
import { budgetConfigSchema, budgetEnv } from "./budget/budget-config.js";
import { cacheConfigSchema, cacheEnv } from "./cache/cache-config.js";
import { embeddingsConfigSchema, embeddingsEnv } from "./embeddings/embeddings-config.js";
import { jobsConfigSchema, jobsEnv } from "./jobs/jobs-config.js";
import { limitsConfigSchema, limitsEnv } from "./limits/limits-config.js";
import { pricingConfigSchema, pricingEnv } from "./pricing/pricing-config.js";
import { providersConfigSchema, providersEnv, resolveProviderKeys } from "./providers/providers-config.js";
import { rateLimitConfigSchema, rateLimitEnv } from "./ratelimit/ratelimit-config.js";
import { usageLedgerConfigSchema, usageLedgerEnv } from "./usage/usage-config.js";

export const gatewayConfigSchema = z
  .object({
    http: z
      .object({
        host: z.string().default("0.0.0.0"),
        port: z.coerce.number().int().min(0).max(65535).default(8080),
        /** Largest request body accepted; larger ones get 413 before they are read. */
        maxBodyBytes: z.coerce
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
      })
      .strict()
      .default({ host: "0.0.0.0", port: 8080, maxBodyBytes: 4 * 1024 * 1024 }),
    grpc: z
      .object({
        host: z.string().default("0.0.0.0"),
        port: z.coerce.number().int().min(0).max(65535).default(50051),
      })
      .strict()
      .default({ host: "0.0.0.0", port: 50051 }),
    opsPort: z.coerce.number().int().min(0).max(65535).default(9460),
    routerAddress: z.string().min(1).default("127.0.0.1:50061"),
    databaseUrl: z.string().url().optional(),
    natsUrl: z.string().url().optional(),
    /** Key for the HMAC under which API keys are stored; keys stay unusable if the table leaks. */
    keyHashSecret: z.string().min(16, "must be at least 16 characters"),
    /** How long a looked-up API key is trusted before Postgres is asked again. */
    keyCacheTtlMs: z.coerce.number().int().min(0).default(30_000),
    upstream: z
      .object({
        connectTimeoutMs: z.coerce.number().int().positive().default(5_000),
        /** Time allowed for the engine to start answering (queueing and prefill included). */
        headersTimeoutMs: z.coerce.number().int().positive().default(300_000),
        /** Longest pause between two chunks of an answer. */
        bodyTimeoutMs: z.coerce.number().int().positive().default(300_000),
        connectionsPerEndpoint: z.coerce.number().int().positive().default(256),
      })
      .strict()
      .default({
        connectTimeoutMs: 5_000,
        headersTimeoutMs: 300_000,
        bodyTimeoutMs: 300_000,
        connectionsPerEndpoint: 256,
      }),
    admin: adminConfigSchema,
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    otlpEndpoint: z.string().url().optional(),
    /** Hosted providers, model aliases → fallback chains, retries and circuit breaking. */
    providers: providersConfigSchema.prefault({}),
    /** Redis for limits and spend shared by every replica; without it they are kept in-process. */
    redisUrl: z.string().url().optional(),
    /** Default limits and budgets of every tenant and key; per-tenant and per-key overrides are stored. */
    limits: limitsConfigSchema,
    rateLimits: rateLimitConfigSchema,
    budgets: budgetConfigSchema,
    /** Prices per model in USD per million tokens, for the cost of each request and budgets. */
    pricing: pricingConfigSchema,
    /** Exact and semantic response caches: modes, TTLs, stores and bounds, per-tenant settings. */
    cache: cacheConfigSchema.prefault({}),
    /** The embedding backend behind /v1/embeddings and the semantic cache. */
    embeddings: embeddingsConfigSchema.prefault({}),
    /** Async jobs, the Files and Batch APIs, their workers, retries, rate limits and webhooks. */
    jobs: jobsConfigSchema,
    /** How usage events are batched into gateway.usage_ledger. */
    usageLedger: usageLedgerConfigSchema.prefault({}),
  })
  .strict();

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

export const gatewayEnv: EnvMapping = {
  "http.host": "GATEWAY_HOST",
  "http.port": "GATEWAY_PORT",
  "http.maxBodyBytes": "GATEWAY_MAX_BODY_BYTES",
  "grpc.host": "GATEWAY_GRPC_HOST",
  "grpc.port": "GATEWAY_GRPC_PORT",
  opsPort: "GATEWAY_OPS_PORT",
  routerAddress: "GATEWAY_ROUTER_ADDRESS",
  databaseUrl: "DATABASE_URL",
  natsUrl: "NATS_URL",
  keyHashSecret: "GATEWAY_KEY_HASH_SECRET",
  keyCacheTtlMs: "GATEWAY_KEY_CACHE_TTL_MS",
  "upstream.connectTimeoutMs": "GATEWAY_UPSTREAM_CONNECT_TIMEOUT_MS",
  "upstream.headersTimeoutMs": "GATEWAY_UPSTREAM_HEADERS_TIMEOUT_MS",
  "upstream.bodyTimeoutMs": "GATEWAY_UPSTREAM_BODY_TIMEOUT_MS",
  "upstream.connectionsPerEndpoint": "GATEWAY_UPSTREAM_CONNECTIONS",
  logLevel: "LOG_LEVEL",
  otlpEndpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
  ...adminEnv,
  ...providersEnv,
  redisUrl: "REDIS_URL",
  ...limitsEnv,
  ...rateLimitEnv,
  ...budgetEnv,
  ...pricingEnv,
  ...cacheEnv,
  ...embeddingsEnv,
  ...jobsEnv,
  ...usageLedgerEnv,
};

export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  return parseGatewayConfig(fromEnv(env, gatewayEnv), env);
}

/**
 * Validates raw settings by config path — `fromEnv(env, gatewayEnv)`, possibly overlaid by a program
 * that embeds the gateway (`strata up`) — and fills in the provider API keys `env` names, so the
 * standalone gateway and the embedded one read the environment through this one mapping.
 */
export function parseGatewayConfig(
  raw: Record<string, unknown>,
  env: Record<string, string | undefined>,
): GatewayConfig {
  const config = parseConfig(gatewayConfigSchema, raw, gatewayEnv);
  // API keys named by environment variable are read here, the one place that reads the environment.
  const providers = resolveProviderKeys(config.providers, env);
  if (providers.problems.length > 0) throw new ConfigError(providers.problems);
  return { ...config, providers: providers.config };
}
