import { Counter, type Registry } from "@strata/kit";

export type LimitMetrics = ReturnType<typeof createLimitMetrics>;

export function createLimitMetrics(registry: Registry) {
  return {
    refusals: new Counter({
      name: "strata_gateway_ratelimit_refusals_total",
      help: "Requests refused before any work: by scope (key, tenant, budget) and reason (requests, tokens, concurrency, budget).",
      labelNames: ["scope", "reason"],
      registers: [registry],
    }),
    backendErrors: new Counter({
      name: "strata_gateway_ratelimit_backend_errors_total",
      help: "Failed calls to the shared limit store (Redis), by operation; requests then follow redis.onError.",
      labelNames: ["operation"],
      registers: [registry],
    }),
  };
}
