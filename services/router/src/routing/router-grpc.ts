import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Logger, type ServiceImpl, StrataError, toStrataError } from "@strata/kit";
import type { routerV1 } from "@strata/proto";
import type { RouterMetrics } from "../observability/router-metrics.js";
import { AnswerQueue } from "./answer-queue.js";
import type { Router, RouterCalls } from "./router.js";

type StreamAnswer = MessageInitShape<typeof routerV1.RouteStreamResponseSchema>;
type RouteAnswer = MessageInitShape<typeof routerV1.RouteResponseSchema>;

type RouteMetrics = Pick<RouterMetrics, "errors" | "routeDuration">;

/** Adapts the Router to the generated gRPC service; StrataErrors become gRPC statuses in GrpcServer. */
export function routerServiceImpl(
  router: RouterCalls,
  metrics: RouteMetrics,
  logger: Logger,
): ServiceImpl<typeof routerV1.RouterService> {
  const routes = new MeteredRoutes(router, metrics);
  return {
    async route(request, context) {
      if (router.waitsForClassifier(request.model)) return routes.routeAsync(request, context.signal);
      return routes.route(request);
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
      void answerStream(requests, context.signal, answers, { router, routes, logger });
      return answers;
    },
  };
}

/** Both Route paths, timed and with failures counted by error code. */
class MeteredRoutes {
  constructor(
    private readonly router: Pick<Router, "route" | "routeAsync">,
    private readonly metrics: RouteMetrics,
  ) {}

  /** The synchronous path every Route of a model without an LLM classifier takes. */
  route(request: routerV1.RouteRequest): RouteAnswer {
    const stop = this.metrics.routeDuration.startTimer();
    try {
      return this.router.route(request);
    } catch (error) {
      throw this.failed(error);
    } finally {
      stop();
    }
  }

  /** The path of models whose route may wait for an LLM classifier; cancelled with the call. */
  async routeAsync(request: routerV1.RouteRequest, signal: AbortSignal): Promise<RouteAnswer> {
    const stop = this.metrics.routeDuration.startTimer();
    try {
      return await this.router.routeAsync(request, signal);
    } catch (error) {
      throw this.failed(error);
    } finally {
      stop();
    }
  }

  private failed(error: unknown): unknown {
    this.metrics.errors.inc({ code: toStrataError(error).code });
    return error;
  }
}

/**
 * Reads a RouteStream to its end. Synchronous answers leave in arrival order; one waiting for an LLM
 * classifier is answered when ready, matched by request_id, without holding up the ones behind it.
 */
async function answerStream(
  requests: AsyncIterable<routerV1.RouteStreamRequest>,
  signal: AbortSignal,
  answers: AnswerQueue<StreamAnswer>,
  parts: { router: RouterCalls; routes: MeteredRoutes; logger: Logger },
): Promise<void> {
  const { router, routes, logger } = parts;
  const failure = (requestId: string, error: unknown): StreamAnswer => ({
    requestId,
    error: routeError(error, logger),
  });
  try {
    for await (const message of requests) {
      const { kind } = message;
      if (kind.case === "route") {
        const request = kind.value;
        if (router.waitsForClassifier(request.model)) {
          answers.await(
            routes.routeAsync(request, signal).then(
              (route) => ({ requestId: request.requestId, route }),
              (error: unknown) => failure(request.requestId, error),
            ),
          );
          continue;
        }
        try {
          answers.push({ requestId: request.requestId, route: routes.route(request) });
        } catch (error) {
          answers.push(failure(request.requestId, error));
        }
      } else if (kind.case === "report") {
        reportStreamed(router, kind.value, logger);
      } else {
        const error = new StrataError("invalid_request", "RouteStreamRequest needs route or report", {
          param: "kind",
        });
        answers.push(failure("", error));
      }
    }
    answers.end();
  } catch (error) {
    answers.fail(error);
  }
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
