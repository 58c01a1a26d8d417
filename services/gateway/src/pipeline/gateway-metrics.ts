import { Counter, Histogram, latencyBuckets, type Registry } from "@strata/kit";
import { PendingCounts } from "./pending-counts.js";

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

export function createGatewayMetrics(registry: Registry) {
  // Requests and tokens are counted in plain numbers on the hot path and handed over on collect.
  let pending: PendingCounts | undefined;
  const requests = new Counter({
    name: "strata_gateway_requests_total",
    help: "Completion requests answered, by operation, model and HTTP status.",
    labelNames: ["operation", "model", "status"],
    registers: [registry],
    collect: () => pending?.flush(),
  });
  const tokens = new Counter({
    name: "strata_gateway_tokens_total",
    help: "Tokens processed, by model and type (prompt, completion, cached).",
    labelNames: ["model", "type"],
    registers: [registry],
    collect: () => pending?.flush(),
  });
  pending = new PendingCounts(requests, tokens);
  return {
    requests,
    tokens,
    /** Counts a finished request (and its tokens when it succeeded) into `requests` and `tokens`. */
    counts: pending,
    duration: new Histogram({
      name: "strata_gateway_request_duration_seconds",
      help: "Time from request arrival to the last byte of the answer.",
      labelNames: ["operation", "model"],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    timeToFirstToken: new Histogram({
      name: "strata_gateway_time_to_first_token_seconds",
      help: "Time from request arrival to the first streamed token.",
      labelNames: ["model"],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    usagePublishFailures: new Counter({
      name: "strata_gateway_usage_publish_failures_total",
      help: "Usage events that could not be published after all retries.",
      registers: [registry],
    }),
  };
}
