import { type ServiceImpl, toStrataError } from "@strata/kit";
import type { routerV1 } from "@strata/proto";
import type { RouterMetrics } from "../observability/router-metrics.js";
import type { Router } from "./router.js";

/** Adapts the Router to the generated gRPC service; StrataErrors become gRPC statuses in GrpcServer. */
export function routerServiceImpl(
  router: Pick<Router, "route" | "report" | "listModels">,
  metrics: Pick<RouterMetrics, "errors" | "routeDuration">,
): ServiceImpl<typeof routerV1.RouterService> {
  return {
    async route(request) {
      const stop = metrics.routeDuration.startTimer();
      try {
        return router.route(request);
      } catch (error) {
        metrics.errors.inc({ code: toStrataError(error).code });
        throw error;
      } finally {
        stop();
      }
    },
    async report(request) {
      router.report(request);
      return {};
    },
    async listModels() {
      return { models: router.listModels() };
    },
  };
}
