import { type EnvMapping, fromEnv, parseConfig } from "@strata/kit";
import { z } from "zod";

/** Settings of the one-process local run; everything has a default so `pnpm start` needs none. */
export const localConfigSchema = z
  .object({
    /** Working folder for the embedded database, the dev API key and the key-hash secret. */
    home: z.string().min(1).default(".strata"),
    databaseUrl: z.string().url().optional(),
    natsUrl: z.string().url().optional(),
    /** Redis for the gateway's shared rate limits and spend counters; in-process ones without it. */
    redisUrl: z.string().url().optional(),
    gatewayPort: z.coerce.number().int().min(0).max(65535).default(8080),
    gatewayGrpcPort: z.coerce.number().int().min(0).max(65535).default(50051),
    routerPort: z.coerce.number().int().min(0).max(65535).default(50061),
    /** engine-sim replicas listen on consecutive ports from here. */
    enginePort: z.coerce.number().int().min(0).max(65535).default(8001),
    /** 0 runs no simulated engine: the router then only knows endpoints given some other way. */
    engineReplicas: z.coerce.number().int().min(0).max(32).default(3),
    model: z.string().min(1).default("strata-sim"),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    otlpEndpoint: z.string().url().optional(),
    /**
     * The environment the embedded gateway reads its own settings from, through the standalone
     * gateway's mapping (GATEWAY_PROVIDERS, GATEWAY_MODEL_ALIASES, GATEWAY_PRICING, …, and the
     * variables a provider's `apiKeyEnv` names). loadLocalConfig passes the process environment;
     * tests and benchmarks pass their own, so a developer's shell never leaks into them.
     */
    environment: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export type LocalConfig = z.output<typeof localConfigSchema>;

export const localEnv: EnvMapping = {
  home: "STRATA_HOME",
  databaseUrl: "DATABASE_URL",
  natsUrl: "NATS_URL",
  redisUrl: "REDIS_URL",
  gatewayPort: "GATEWAY_PORT",
  gatewayGrpcPort: "GATEWAY_GRPC_PORT",
  routerPort: "ROUTER_GRPC_PORT",
  enginePort: "ENGINE_SIM_PORT",
  engineReplicas: "ENGINE_SIM_REPLICAS",
  model: "ENGINE_SIM_MODEL",
  logLevel: "LOG_LEVEL",
  otlpEndpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
};

export function loadLocalConfig(env: Record<string, string | undefined> = process.env): LocalConfig {
  const environment = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return parseConfig(localConfigSchema, { ...fromEnv(env, localEnv), environment }, localEnv);
}
