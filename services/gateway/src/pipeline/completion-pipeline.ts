import { context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  getTracer,
  injectTraceContext,
  type Logger,
  type ServiceClient,
  StrataError,
  toStrataError,
} from "@strata/kit";
import { routerV1 } from "@strata/proto";
import type { AuthContext } from "../auth/api-key-store.js";
import { estimateTokens, renderPrompt } from "../openai/render-prompt.js";
import type { ChatCompletionRequest, CompletionRequest, Operation } from "../openai/request-schemas.js";
import {
  type EngineClient,
  type EngineResponse,
  engineError,
  isConnectFailure,
  readAll,
} from "../upstream/engine-client.js";
import { sseData } from "../upstream/sse.js";
import type { UsageRecorder } from "../usage/usage-recorder.js";
import type { GatewayMetrics } from "./gateway-metrics.js";
import { noUsage, type UsageCounts, usageFrom } from "./usage-counts.js";

export interface CompletionCall {
  operation: Operation;
  request: ChatCompletionRequest | CompletionRequest;
  auth: AuthContext;
  requestId: string;
  /** Fires when the client goes away; the engine request is cancelled with it. */
  signal: AbortSignal;
  startedAt: number;
}

export type CompletionResult =
  | { kind: "json"; status: number; body: Buffer; route: routerV1.RouteResponse }
  /** `events` yields each SSE data payload (JSON text, and "[DONE]" last) as the engine sends it. */
  | { kind: "stream"; events: AsyncIterable<string>; route: routerV1.RouteResponse };

export interface PipelineDeps {
  router: Pick<ServiceClient<typeof routerV1.RouterService>, "route" | "report">;
  engines: Pick<EngineClient, "send">;
  usage: Pick<UsageRecorder, "record">;
  metrics: GatewayMetrics;
  logger: Logger;
  now?: () => number;
}

const paths: Record<Operation, string> = {
  "chat.completions": "/v1/chat/completions",
  completions: "/v1/completions",
};
const genAiOperation: Record<Operation, string> = {
  "chat.completions": "chat",
  completions: "text_completion",
};

/** One completion, start to finish: route it, call the chosen replica, account for it. */
export class CompletionPipeline {
  private readonly tracer = getTracer("gateway");
  private readonly now: () => number;

  constructor(private readonly deps: PipelineDeps) {
    this.now = deps.now ?? performance.now.bind(performance);
  }

  async execute(call: CompletionCall): Promise<CompletionResult> {
    const model = call.request.model;
    const span = this.tracer.startSpan(`${genAiOperation[call.operation]} ${model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        "gen_ai.operation.name": genAiOperation[call.operation],
        "gen_ai.provider.name": "strata",
        "gen_ai.request.model": model,
        "gen_ai.request.stream": Boolean(call.request.stream),
        ...(call.request.max_tokens ? { "gen_ai.request.max_tokens": call.request.max_tokens } : {}),
      },
    });
    const spanContext = trace.setSpan(context.active(), span);
    let route: routerV1.RouteResponse | undefined;
    try {
      const chosen = await context.with(spanContext, () => this.route(call));
      route = chosen;
      const endpoint = chosen.endpoint!;
      span.setAttributes({
        "server.address": endpoint.url,
        "strata.endpoint.id": endpoint.id,
        "strata.route.strategy": chosen.strategy,
      });
      const response = await context.with(spanContext, () => this.callEngine(call, chosen));
      if (response.status >= 400) return await this.relayError(call, chosen, response, span);
      if (call.request.stream)
        return { kind: "stream", route: chosen, events: this.stream(call, chosen, response, span) };
      const body = await readAll(response.body);
      const usage = usageFrom(parseJson(body)) ?? noUsage;
      this.finish(call, chosen, span, { status: 200, usage, firstTokenAt: undefined });
      return { kind: "json", status: 200, body, route: chosen };
    } catch (error) {
      const failure = call.signal.aborted
        ? new StrataError("client_closed", "The client closed the request.")
        : toStrataError(error);
      this.finish(call, route, span, {
        status: failure.httpStatus,
        usage: noUsage,
        firstTokenAt: undefined,
        error: failure,
      });
      throw failure;
    }
  }

  private route(call: CompletionCall): Promise<routerV1.RouteResponse> {
    const prompt = renderPrompt(call.operation, call.request);
    return this.deps.router.route(
      {
        requestId: call.requestId,
        model: call.request.model,
        tenantId: call.auth.tenantId,
        prompt,
        promptTokens: estimateTokens(prompt),
      },
      { signal: call.signal },
    );
  }

  private callEngine(call: CompletionCall, route: routerV1.RouteResponse): Promise<EngineResponse> {
    const endpoint = route.endpoint!;
    const body: Record<string, unknown> = { ...call.request, model: endpoint.servedModel || route.model };
    // Always ask the engine for usage so every streamed request is accounted; the extra chunk is
    // dropped again for clients that did not ask for it.
    if (call.request.stream) body.stream_options = { ...call.request.stream_options, include_usage: true };
    const headers: Record<string, string> = { "x-request-id": call.requestId };
    injectTraceContext(headers);
    return this.deps.engines.send({
      baseUrl: endpoint.url,
      path: paths[call.operation],
      body,
      headers,
      signal: call.signal,
    });
  }

  /** Engine 4xx answers are the client's to see as they are; 5xx become a gateway 502. */
  private async relayError(
    call: CompletionCall,
    route: routerV1.RouteResponse,
    response: EngineResponse,
    span: Span,
  ): Promise<CompletionResult> {
    const body = await readAll(response.body, 1 << 20);
    if (response.status >= 500) {
      const message = (parseJson(body) as { error?: { message?: string }; message?: string } | undefined)
        ?.error?.message;
      throw new StrataError(
        "upstream_error",
        `The model replica failed (HTTP ${response.status})${message ? `: ${message}` : "."}`,
      );
    }
    this.finish(call, route, span, {
      status: response.status,
      usage: noUsage,
      firstTokenAt: undefined,
      errorCode: "upstream_rejected",
    });
    return { kind: "json", status: response.status, body, route };
  }

  private async *stream(
    call: CompletionCall,
    route: routerV1.RouteResponse,
    response: EngineResponse,
    span: Span,
  ): AsyncGenerator<string> {
    const clientWantsUsage = Boolean(call.request.stream_options?.include_usage);
    let usage: UsageCounts = noUsage;
    let firstTokenAt: number | undefined;
    let failure: StrataError | undefined;
    try {
      for await (const data of sseData(response.body)) {
        firstTokenAt ??= this.now();
        if (data.includes('"usage":{')) {
          const json = parseJson(data) as { choices?: unknown[] } | undefined;
          usage = usageFrom(json) ?? usage;
          if (!clientWantsUsage && json?.choices?.length === 0) continue;
        }
        yield data;
      }
    } catch (error) {
      failure = call.signal.aborted
        ? new StrataError("client_closed", "The client closed the request.")
        : engineError(error, route.endpoint!.url);
      throw failure;
    } finally {
      // A consumer that stops reading early (client gone) also lands here, without an error.
      failure ??= call.signal.aborted
        ? new StrataError("client_closed", "The client closed the request.")
        : undefined;
      if (failure) response.body.destroy();
      this.finish(call, route, span, {
        status: failure?.httpStatus ?? 200,
        usage,
        firstTokenAt,
        ...(failure ? { error: failure } : {}),
      });
    }
  }

  private finish(
    call: CompletionCall,
    route: routerV1.RouteResponse | undefined,
    span: Span,
    outcome: {
      status: number;
      usage: UsageCounts;
      firstTokenAt: number | undefined;
      error?: StrataError;
      errorCode?: string;
    },
  ): void {
    const end = this.now();
    const latencyMs = end - call.startedAt;
    const ttftMs =
      outcome.firstTokenAt === undefined
        ? outcome.status === 200
          ? latencyMs
          : 0
        : outcome.firstTokenAt - call.startedAt;
    const model = call.request.model;
    const { metrics } = this.deps;
    metrics.requests.inc({ operation: call.operation, model, status: outcome.status });
    metrics.duration.observe({ operation: call.operation, model }, latencyMs / 1000);
    if (outcome.status === 200) {
      metrics.timeToFirstToken.observe({ model }, ttftMs / 1000);
      metrics.tokens.inc({ model, type: "prompt" }, outcome.usage.promptTokens);
      metrics.tokens.inc({ model, type: "completion" }, outcome.usage.completionTokens);
      metrics.tokens.inc({ model, type: "cached" }, outcome.usage.cachedTokens);
    }
    span.setAttributes({
      "gen_ai.usage.input_tokens": outcome.usage.promptTokens,
      "gen_ai.usage.output_tokens": outcome.usage.completionTokens,
      "gen_ai.usage.cache_read.input_tokens": outcome.usage.cachedTokens,
      "http.response.status_code": outcome.status,
    });
    if (outcome.error) {
      span.setAttribute("error.type", outcome.error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
    }
    span.end();
    if (route?.endpoint) this.report(call, route, outcome.error, outcome.usage, ttftMs, latencyMs);
    this.deps.usage.record({
      requestId: call.requestId,
      tenantId: call.auth.tenantId,
      apiKeyId: call.auth.apiKeyId,
      model,
      servedModel: route?.endpoint?.servedModel ?? "",
      endpointId: route?.endpoint?.id ?? "",
      operation: call.operation,
      stream: Boolean(call.request.stream),
      promptTokens: outcome.usage.promptTokens,
      completionTokens: outcome.usage.completionTokens,
      cachedTokens: outcome.usage.cachedTokens,
      latencyMs,
      timeToFirstTokenMs: ttftMs,
      status: outcome.status,
      errorCode: outcome.error?.code ?? outcome.errorCode ?? "",
      startedAtMs: BigInt(Math.round(Date.now() - latencyMs)),
    });
  }

  private report(
    call: CompletionCall,
    route: routerV1.RouteResponse,
    error: StrataError | undefined,
    usage: UsageCounts,
    ttftMs: number,
    latencyMs: number,
  ): void {
    const outcome = !error
      ? routerV1.Outcome.SUCCESS
      : error.code === "client_closed"
        ? routerV1.Outcome.CANCELLED
        : error.code === "timeout"
          ? routerV1.Outcome.TIMEOUT
          : isConnectFailure(error)
            ? routerV1.Outcome.CONNECT_ERROR
            : routerV1.Outcome.UPSTREAM_ERROR;
    // Fire and forget: the client's answer never waits for bookkeeping.
    this.deps.router
      .report({
        requestId: call.requestId,
        endpointId: route.endpoint!.id,
        model: route.model,
        outcome,
        promptTokens: usage.promptTokens,
        cachedTokens: usage.cachedTokens,
        completionTokens: usage.completionTokens,
        timeToFirstTokenMs: ttftMs,
        latencyMs,
      })
      .catch((reportError: unknown) =>
        this.deps.logger.warn({ err: reportError, requestId: call.requestId }, "route report failed"),
      );
  }
}

function parseJson(body: Buffer | string): unknown {
  try {
    return JSON.parse(typeof body === "string" ? body : body.toString("utf8"));
  } catch {
    return undefined;
  }
}
