import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Logger, type ServiceImpl, StrataError, toStrataError } from "@strata/kit";
import type { routerV1 } from "@strata/proto";
import type { RouterMetrics } from "../observability/router-metrics.js";
import type { Router } from "./router.js";

type StreamAnswer = MessageInitShape<typeof routerV1.RouteStreamResponseSchema>;

/** Adapts the Router to the generated gRPC service; StrataErrors become gRPC statuses in GrpcServer. */
export function routerServiceImpl(
  router: Pick<Router, "route" | "report" | "listModels">,
  metrics: Pick<RouterMetrics, "errors" | "routeDuration">,
  logger: Logger,
): ServiceImpl<typeof routerV1.RouterService> {
  /** The one path every Route takes, unary or streamed, so both are timed and counted alike. */
  const route = (request: routerV1.RouteRequest) => {
    const stop = metrics.routeDuration.startTimer();
    try {
      return router.route(request);
    } catch (error) {
      metrics.errors.inc({ code: toStrataError(error).code });
      throw error;
    } finally {
      stop();
    }
  };

  const answer = (request: routerV1.RouteRequest): StreamAnswer => {
    try {
      return { requestId: request.requestId, route: route(request) };
    } catch (error) {
      return { requestId: request.requestId, error: routeError(error, logger) };
    }
  };

  return {
    async route(request) {
      return route(request);
    },
    async report(request) {
      router.report(request);
      return {};
    },
    async listModels() {
      return { models: router.listModels() };
    },
    async *routeStream(requests) {
      for await (const message of requests) {
        const { kind } = message;
        if (kind.case === "route") {
          // Routing is synchronous, so answers leave in arrival order; the contract still lets callers
          // match by request_id, which keeps the door open for asynchronous strategies.
          yield answer(kind.value);
        } else if (kind.case === "report") {
          try {
            router.report(kind.value);
          } catch (error) {
            // Reports have no answer on the stream; a bad one is the caller's bug, worth a log line.
            logger.warn({ err: error, requestId: kind.value.requestId }, "ignored invalid streamed report");
          }
        } else {
          yield {
            requestId: "",
            error: routeError(
              new StrataError("invalid_request", "RouteStreamRequest needs route or report", {
                param: "kind",
              }),
              logger,
            ),
          };
        }
      }
    },
  };
}

/** The error a failed streamed Route answers with: what the unary call's status would have carried. */
function routeError(error: unknown, logger: Logger): MessageInitShape<typeof routerV1.RouteErrorSchema> {
  const strataError = toStrataError(error);
  if (strataError.code === "internal_error") logger.error({ err: error }, "streamed route failed");
  return { code: strataError.code, message: strataError.message, param: strataError.param ?? "" };
}
