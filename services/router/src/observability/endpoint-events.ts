import type { Logger } from "@strata/kit";
import type { EndpointTransitionListener } from "../endpoints/endpoint-table.js";
import type { Ejection } from "../endpoints/outlier-detector.js";
import type { RouterMetrics } from "./router-metrics.js";

/** Health transitions in the log: a lost endpoint is a warning, anything else news. */
export function logEndpointTransition(logger: Pick<Logger, "warn" | "info">): EndpointTransitionListener {
  return (endpoint, from, to, reason) => {
    const fields = { endpoint: endpoint.id, model: endpoint.model, from, to, reason };
    if (to === "unhealthy") logger.warn(fields, "endpoint unhealthy");
    else logger.info(fields, `endpoint ${to}`);
  };
}

/**
 * An outlier ejection, counted and logged with why and for how long. The ejection's level is logged
 * as `ejection`: a `level` field would clash with the log record's own severity.
 */
export function reportEjection(
  ejection: Ejection,
  metrics: Pick<RouterMetrics, "ejections">,
  logger: Pick<Logger, "warn">,
): void {
  const { endpoint, durationMs, level, reason } = ejection;
  const { id, model } = endpoint.config;
  metrics.ejections.inc({ endpoint: id, model });
  logger.warn({ endpoint: id, model, durationMs, ejection: level, reason }, "endpoint ejected");
}
