/** Pieces of the composition root (run.ts) that need a few lines of their own. */
import type { Logger } from "@strata/kit";
import type { Clock } from "./clock.js";
import type { RouterConfig } from "./config.js";
import type { EndpointTable } from "./endpoints/endpoint-table.js";
import type { HealthChecker } from "./endpoints/health-checker.js";
import { OutlierDetector } from "./endpoints/outlier-detector.js";
import type { KvEventsRuntime } from "./kv-events/kv-events-runtime.js";
import type { RouterMetrics } from "./observability/router-metrics.js";
import type { Router } from "./routing/router.js";

/** The detector, logging and counting each ejection (metrics come later, hence the getter). */
export function createOutlierDetector(
  config: RouterConfig,
  table: EndpointTable,
  clock: Clock,
  logger: Logger,
  metrics: () => Pick<RouterMetrics, "ejections">,
): OutlierDetector {
  return new OutlierDetector(config.outlierDetection, {
    table,
    clock,
    onEjected: ({ endpoint, durationMs, level, reason }) => {
      const { id, model } = endpoint.config;
      metrics().ejections.inc({ endpoint: id, model });
      logger.warn({ endpoint: id, model, durationMs, level, reason }, "endpoint ejected");
    },
  });
}

/** Everything that follows the endpoint list: health checks, strategies, ejections, KV events. */
export function followEndpointChanges(parts: {
  table: EndpointTable;
  checker: Pick<HealthChecker, "sync">;
  router: Pick<Router, "endpointsChanged">;
  outliers: Pick<OutlierDetector, "retain">;
  kv: KvEventsRuntime;
  logger: Logger;
}): void {
  parts.table.onEndpointsChanged((endpoints) => {
    parts.checker.sync();
    parts.router.endpointsChanged();
    parts.outliers.retain(new Set(endpoints.map((endpoint) => endpoint.config.id)));
    parts.kv.pool.sync(endpoints.map((endpoint) => endpoint.config)).catch((error: unknown) => {
      parts.logger.error({ err: error }, "cannot follow the new endpoints' KV events");
    });
  });
}

/** `precise` on a model none of whose endpoints publishes KV events only ever balances load: say so. */
export function warnPreciseWithoutEvents(config: RouterConfig, table: EndpointTable, logger: Logger): void {
  for (const [model, endpoints] of table.models()) {
    const strategy = config.routing.models[model]?.strategy ?? config.routing.defaultStrategy;
    if (strategy !== "precise" || endpoints.some((endpoint) => endpoint.config.kvEvents)) continue;
    logger.warn(
      { model },
      'strategy "precise" but no endpoint of the model has kvEvents: routing by load only',
    );
  }
}
