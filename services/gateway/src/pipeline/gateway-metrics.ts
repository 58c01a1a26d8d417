import { Counter, Histogram, latencyBuckets, type Registry } from "@strata/kit";
import { PendingCounts } from "./pending-counts.js";

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

export function createGatewayMetrics(registry: Registry) {
  return {
    /**
     * Counts a finished request (and its tokens when it succeeded) into strata_gateway_requests_total
     * and strata_gateway_tokens_total: in plain numbers on the hot path, handed over on collect.
     */
    counts: new PendingCounts(registry),
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
