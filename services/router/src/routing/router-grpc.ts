import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Logger, type ServiceImpl, StrataError, toStrataError } from "@strata/kit";
import type { routerV1 } from "@strata/proto";
import type { RouterMetrics } from "../observability/router-metrics.js";
import { AnswerQueue } from "./answer-queue.js";
import type { Router } from "./router.js";

type StreamAnswer = MessageInitShape<typeof routerV1.RouteStreamResponseSchema>;
type RouteAnswer = MessageInitShape<typeof routerV1.RouteResponseSchema>;

/** Adapts the Router to the generated gRPC service; StrataErrors become gRPC statuses in GrpcServer. */
export function routerServiceImpl(
  router: Pick<Router, "route" | "routeAsync" | "waitsForClassifier" | "report" | "listModels">,
  metrics: Pick<RouterMetrics, "errors" | "routeDuration">,
  logger: Logger,
): ServiceImpl<typeof routerV1.RouterService> {
  const failed = (error: unknown) => {
    metrics.errors.inc({ code: toStrataError(error).code });
    return error;
  };
  /** The synchronous path every Route of a model without an LLM classifier takes, timed and counted. */
  const route = (request: routerV1.RouteRequest): RouteAnswer => {
    const stop = metrics.routeDuration.startTimer();
    try {
      return router.route(request);
    } catch (error) {
      throw failed(error);
    } finally {
      stop();
    }
  };
  /** The path of models whose route may wait for an LLM classifier; cancelled with the call. */
  const routeAsync = async (request: routerV1.RouteRequest, signal: AbortSignal): Promise<RouteAnswer> => {
    const stop = metrics.routeDuration.startTimer();
    try {
      return await router.routeAsync(request, signal);
    } catch (error) {
      throw failed(error);
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
  const answerLater = (request: routerV1.RouteRequest, signal: AbortSignal): Promise<StreamAnswer> =>
    routeAsync(request, signal).then(
      (routed) => ({ requestId: request.requestId, route: routed }),
      (error: unknown) => ({ requestId: request.requestId, error: routeError(error, logger) }),
    );

  return {
    async route(request, context) {
      if (router.waitsForClassifier(request.model)) return routeAsync(request, context.signal);
      return route(request);
    },
    async report(request) {
      router.report(request);
      return {};
    },
    async listModels() {
      return { models: router.listModels() };
    },
    routeStream(requests, context) {
      const answers = new AnswerQueue<StreamAnswer>();
      void (async () => {
        try {
          for await (const message of requests) {
            const { kind } = message;
            if (kind.case === "route") {
              // Synchronous answers leave in arrival order; one waiting for an LLM classifier is
              // answered when ready, matched by request_id, without holding up the ones behind it.
              if (router.waitsForClassifier(kind.value.model))
                answers.await(answerLater(kind.value, context.signal));
              else answers.push(answer(kind.value));
            } else if (kind.case === "report") {
              reportStreamed(router, kind.value, logger);
            } else {
              const error = new StrataError("invalid_request", "RouteStreamRequest needs route or report", {
                param: "kind",
              });
              answers.push({ requestId: "", error: routeError(error, logger) });
            }
          }
          answers.end();
        } catch (error) {
          answers.fail(error);
        }
      })();
      return answers;
    },
  };
}

function reportStreamed(
  router: Pick<Router, "report">,
  report: routerV1.ReportRequest,
  logger: Logger,
): void {
  try {
    router.report(report);
  } catch (error) {
    // Reports have no answer on the stream; a bad one is the caller's bug, worth a log line.
    logger.warn({ err: error, requestId: report.requestId }, "ignored invalid streamed report");
  }
}

/** The error a failed streamed Route answers with: what the unary call's status would have carried. */
function routeError(error: unknown, logger: Logger): MessageInitShape<typeof routerV1.RouteErrorSchema> {
  const strataError = toStrataError(error);
  if (strataError.code === "internal_error") logger.error({ err: error }, "streamed route failed");
  return { code: strataError.code, message: strataError.message, param: strataError.param ?? "" };
}
