import { Counter, Histogram, latencyBuckets, type Registry } from "@strata/kit";
import { PendingCounts } from "./pending-counts.js";
import type { UsageCounts } from "./usage-counts.js";

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

export function createGatewayMetrics(registry: Registry) {
  /**
   * Counts a finished request (and its tokens when it succeeded) into strata_gateway_requests_total
   * and strata_gateway_tokens_total: in plain numbers on the hot path, handed over on collect.
   */
  const counts = new PendingCounts(registry);
  const duration = new Histogram({
    name: "strata_gateway_request_duration_seconds",
    help: "Time from request arrival to the last byte of the answer.",
    labelNames: ["operation", "model"],
    buckets: latencyBuckets,
    registers: [registry],
  });
  return {
    counts,
    duration,
    /**
     * One finished request of any operation (chat.completions, completions, embeddings), whatever its
     * outcome: its count by status, its duration and, when it succeeded, its tokens. The one place
     * every face and pipeline accounts for a request, so each operation is counted with the same labels.
     */
    requestFinished(
      operation: string,
      model: string,
      status: number,
      latencyMs: number,
      usage: UsageCounts | undefined,
    ): void {
      counts.count(operation, model, status, status === 200 ? usage : undefined);
      duration.observe({ operation, model }, latencyMs / 1000);
    },
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
