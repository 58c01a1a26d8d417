import type { Logger } from "@strata/kit";
import type { KvEventsRuntime } from "../kv-events/kv-events-runtime.js";
import type { Router } from "../routing/router.js";
import type { EndpointTable } from "./endpoint-table.js";
import type { HealthChecker } from "./health-checker.js";
import type { OutlierDetector } from "./outlier-detector.js";

export interface EndpointFollowers {
  table: Pick<EndpointTable, "onEndpointsChanged">;
  checker: Pick<HealthChecker, "sync">;
  router: Pick<Router, "endpointsChanged">;
  outliers: Pick<OutlierDetector, "retain">;
  kv: Pick<KvEventsRuntime, "pool">;
  logger: Pick<Logger, "error">;
}

/**
 * Keeps everything derived from the endpoint list in step with it: health checks, strategies,
 * ejection records and KV-event subscriptions. Returns `stop`, which shutdown calls before closing
 * any of them, so that a change arriving meanwhile (discovery keeps running) cannot restart what was
 * just closed, such as a KV-event subscription.
 */
export function followEndpointChanges(followers: EndpointFollowers): () => void {
  const { checker, router, outliers, kv, logger } = followers;
  return followers.table.onEndpointsChanged((endpoints) => {
    checker.sync();
    router.endpointsChanged();
    outliers.retain(new Set(endpoints.map((endpoint) => endpoint.config.id)));
    kv.pool.sync(endpoints.map((endpoint) => endpoint.config)).catch((error: unknown) => {
      logger.error({ err: error }, "cannot follow the new endpoints' KV events");
    });
  });
}
