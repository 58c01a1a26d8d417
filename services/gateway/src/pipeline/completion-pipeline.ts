import { type Context, context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { getTracer, type Logger, StrataError, toStrataError } from "@strata/kit";
import { clientClosedError } from "../http/client-closed.js";
import type { Operation } from "../openai/request-schemas.js";
import { DispatchError, type Dispatched, type Dispatcher, type ServedBy } from "../providers/dispatcher.js";
import type { AttemptEnd } from "../providers/provider.js";
import type { UsageRecorder } from "../usage/usage-recorder.js";
import type { CompletionCall, CompletionResult } from "./completion-call.js";
import type { GatewayMetrics } from "./gateway-metrics.js";
import {
  type Admission,
  type Admitter,
  type Authorizer,
  admitAll,
  allowAll,
  type CacheHit,
  noCache,
  type RequestOutcome,
  type ResponseCache,
  type UsageFields,
} from "./pipeline-steps.js";
import { RequestDeadline } from "./request-deadline.js";
import { noUsage, type UsageCounts, usageFrom, usageOfBody } from "./usage-counts.js";

export type { CompletionCall, CompletionResult } from "./completion-call.js";

export interface PipelineDeps {
  dispatcher: Pick<Dispatcher, "dispatch">;
  usage: Pick<UsageRecorder, "record">;
  metrics: GatewayMetrics;
  logger: Logger;
  now?: () => number;
  // The steps below are plugged in by index.ts; each defaults to letting every request through.
  /** authorize: may this key use this model (tenancy). */
  authorizer?: Authorizer;
  /** admit / settle: rate limits and budgets (limits). */
  admitter?: Admitter;
  /** cache lookup / store: exact and semantic response caches (cache). */
  cache?: ResponseCache;
}

const genAiOperation: Record<Operation, string> = {
  "chat.completions": "chat",
  completions: "text_completion",
};

/** One request on its way through the steps; finish() closes it exactly once. */
interface Run {
  call: CompletionCall;
  span: Span;
  spanContext: Context;
  deadline: RequestDeadline;
  /** UsageEvent fields contributed by steps (cost, cache status...). */
  fields: UsageFields;
  admission?: Admission;
  dispatched?: Dispatched;
  served?: ServedBy;
  cacheHit?: CacheHit;
  attempts: number;
  attemptErrors: string[];
  finished: boolean;
}

interface Ending {
  status: number;
  usage: UsageCounts;
  firstTokenAt: number | undefined;
  error?: StrataError;
  /** Recorded for an answer relayed as-is whose status is an error (an upstream 4xx). */
  errorCode?: string;
}

/**
 * A completion as a list of steps:
 *
 *   authorize → admit → cache lookup → dispatch → cache store → settle → record usage
 *
 * (authenticate runs in the faces, before the body is read). Each step sits behind a narrow
 * interface in pipeline-steps.ts or providers/; this class only orders them and accounts for the
 * request whatever happens.
 */
export class CompletionPipeline {
  private readonly tracer = getTracer("gateway");
  private readonly now: () => number;
  private readonly authorizer: Authorizer;
  private readonly admitter: Admitter;
  private readonly cache: ResponseCache;

  constructor(private readonly deps: PipelineDeps) {
    this.now = deps.now ?? performance.now.bind(performance);
    this.authorizer = deps.authorizer ?? allowAll;
    this.admitter = deps.admitter ?? admitAll;
    this.cache = deps.cache ?? noCache;
  }

  async execute(call: CompletionCall): Promise<CompletionResult> {
    const run = this.begin(call);
    try {
      // authorize (a synchronous check costs no await)
      const authorizing = this.authorizer.authorize(call);
      if (authorizing) await authorizing;
      // admit (its settle runs in finish)
      run.admission = await this.admitter.admit(call, run.fields);
      // cache lookup
      const hit = await this.cache.lookup(call, run.fields);
      if (hit) return this.answerFromCache(run, hit);
      // dispatch
      const dispatched = await context.with(run.spanContext, () =>
        this.deps.dispatcher.dispatch({
          operation: call.operation,
          body: call.request,
          requestId: call.requestId,
          tenantId: call.auth.tenantId,
          signal: run.deadline.signal,
          deadline: run.deadline.at,
        }),
      );
      this.served(run, dispatched);
      const answer = dispatched.answer;
      if (answer.kind === "stream")
        return { kind: "stream", events: this.stream(run, answer.events), headers: call.headers };
      // cache store, settle and record usage: right after the face has sent the answer (it does so
      // as soon as this returns), so none of that bookkeeping stands between the engine and the client.
      setImmediate(CompletionPipeline.afterAnswer, this, run, answer);
      return { kind: "json", status: answer.status, body: answer.body, headers: call.headers };
    } catch (error) {
      if (error instanceof DispatchError) {
        run.attempts = error.attempts;
        run.attemptErrors = error.attemptErrors;
      }
      const failure = this.failureOf(run, error);
      this.finish(run, {
        status: failure.httpStatus,
        usage: noUsage,
        firstTokenAt: undefined,
        error: failure,
      });
      throw failure;
    }
  }

  private static readonly afterAnswer = (
    pipeline: CompletionPipeline,
    run: Run,
    answer: { status: number; body: Buffer },
  ): void => {
    try {
      const usage = usageOfBody(answer.body) ?? noUsage;
      // cache store
      if (answer.status === 200 && pipeline.cache.wantsStore(run.call))
        pipeline.cache.store(run.call, { kind: "json", body: answer.body, usage });
      // settle and record usage
      pipeline.finish(run, {
        status: answer.status,
        usage,
        firstTokenAt: undefined,
        ...(answer.status >= 400 ? { errorCode: "upstream_rejected" } : {}),
      });
    } catch (error) {
      pipeline.deps.logger.error(
        { err: error, requestId: run.call.requestId },
        "bookkeeping of an answer failed",
      );
    }
  };

  private begin(call: CompletionCall): Run {
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
    return {
      call,
      span,
      spanContext: trace.setSpan(context.active(), span),
      deadline: new RequestDeadline(call, this.now()),
      fields: {},
      attempts: 0,
      attemptErrors: [],
      finished: false,
    };
  }

  private served(run: Run, dispatched: Dispatched): void {
    const served = dispatched.served;
    run.dispatched = dispatched;
    run.served = served;
    run.attempts = served.attempts;
    run.attemptErrors = served.attemptErrors;
    run.call.headers["x-strata-route"] = served.route;
    // Attributes of a span nobody records are built for nothing (no tracing configured).
    if (!run.span.isRecording()) return;
    run.span.setAttributes({
      "gen_ai.provider.name": served.kind === "engine" ? "strata" : served.kind,
      "gen_ai.response.model": served.servedModel,
      "strata.provider": served.provider,
      "strata.endpoint.id": served.endpointId,
      "strata.route": served.route,
      "strata.attempts": served.attempts,
      "strata.fallback.index": served.fallbackIndex,
    });
  }

  private answerFromCache(run: Run, hit: CacheHit): CompletionResult {
    run.cacheHit = hit;
    const { answer } = hit;
    run.span.setAttribute("strata.cache", hit.status);
    const ending = { status: 200, usage: answer.usage, firstTokenAt: undefined };
    if (answer.kind === "json") {
      this.finish(run, ending);
      return { kind: "json", status: 200, body: answer.body, headers: run.call.headers };
    }
    const events = this.replay(run, answer.events, answer.usage);
    return { kind: "stream", events, headers: run.call.headers };
  }

  private async *replay(run: Run, events: readonly string[], usage: UsageCounts): AsyncGenerator<string> {
    let firstTokenAt: number | undefined;
    try {
      for (const event of events) {
        firstTokenAt ??= this.now();
        yield event;
      }
    } finally {
      const closed = run.call.signal.aborted;
      this.finish(run, {
        status: closed ? 499 : 200,
        usage,
        firstTokenAt,
        ...(closed ? { error: clientClosedError() } : {}),
      });
    }
  }

  private async *stream(run: Run, events: AsyncIterable<string>): AsyncGenerator<string> {
    const call = run.call;
    const clientWantsUsage = Boolean(call.request.stream_options?.include_usage);
    const kept: string[] | undefined = this.cache.wantsStore(call) ? [] : undefined;
    let usage: UsageCounts = noUsage;
    let firstTokenAt: number | undefined;
    let failure: StrataError | undefined;
    let complete = false;
    try {
      for await (const data of events) {
        firstTokenAt ??= this.now();
        kept?.push(data);
        if (data.includes('"usage":{')) {
          const json = parseJson(data) as { choices?: unknown[] } | undefined;
          usage = usageFrom(json) ?? usage;
          if (!clientWantsUsage && json?.choices?.length === 0) continue;
        }
        yield data;
      }
      complete = true;
    } catch (error) {
      failure = this.failureOf(run, error);
      throw failure;
    } finally {
      // A consumer that stops early (client gone) lands here too, without an error.
      if (!complete) failure ??= this.failureOf(run, undefined);
      // cache store
      if (complete && kept) this.cache.store(call, { kind: "stream", events: kept, usage });
      this.finish(run, {
        status: failure?.httpStatus ?? 200,
        usage,
        firstTokenAt,
        ...(failure ? { error: failure } : {}),
      });
    }
  }

  /** The error to surface: the client gone, the deadline passed, or what the step threw. */
  private failureOf(run: Run, error: unknown): StrataError {
    if (run.call.signal.aborted) return clientClosedError();
    if (run.deadline.expired) return run.deadline.signal.reason as StrataError;
    if (error === undefined) return new StrataError("upstream_error", "The answer ended early.");
    return toStrataError(error);
  }

  /** settle → record usage: metrics, span, the upstream's bookkeeping and one usage event. */
  private finish(run: Run, ending: Ending): void {
    if (run.finished) return;
    run.finished = true;
    run.deadline.dispose();
    const { call } = run;
    const latencyMs = this.now() - call.startedAt;
    const ttftMs =
      ending.firstTokenAt === undefined
        ? ending.status === 200
          ? latencyMs
          : 0
        : ending.firstTokenAt - call.startedAt;
    this.observe(run, ending, latencyMs, ttftMs);
    const servedModel = run.served?.servedModel ?? run.cacheHit?.servedModel ?? "";
    const outcome: RequestOutcome = {
      status: ending.status,
      usage: ending.usage,
      servedModel,
      provider: run.served?.provider ?? "",
      ...(ending.error || ending.errorCode ? { errorCode: ending.error?.code ?? ending.errorCode } : {}),
    };
    try {
      run.admission?.settle(outcome, run.fields);
    } catch (error) {
      this.deps.logger.error({ err: error, requestId: call.requestId }, "settling the admission failed");
    }
    run.dispatched?.end({
      result: attemptResult(ending.error, run.deadline.expired),
      usage: ending.usage,
      timeToFirstTokenMs: ttftMs,
      latencyMs,
    });
    this.record(run, ending, outcome, latencyMs, ttftMs);
  }

  private observe(run: Run, ending: Ending, latencyMs: number, ttftMs: number): void {
    const { call, span } = run;
    const model = call.request.model;
    const { metrics } = this.deps;
    metrics.requestFinished(call.operation, model, ending.status, latencyMs, ending.usage);
    if (ending.status === 200) metrics.timeToFirstToken.observe({ model }, ttftMs / 1000);
    if (span.isRecording())
      span.setAttributes({
        "gen_ai.usage.input_tokens": ending.usage.promptTokens,
        "gen_ai.usage.output_tokens": ending.usage.completionTokens,
        "gen_ai.usage.cache_read.input_tokens": ending.usage.cachedTokens,
        "http.response.status_code": ending.status,
        "strata.attempts": run.attempts,
      });
    if (ending.error) {
      span.setAttribute("error.type", ending.error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: ending.error.message });
    }
    span.end();
  }

  private record(run: Run, ending: Ending, outcome: RequestOutcome, latencyMs: number, ttftMs: number): void {
    const { call, served } = run;
    this.deps.usage.record({
      requestId: call.requestId,
      tenantId: call.auth.tenantId,
      apiKeyId: call.auth.apiKeyId,
      projectId: call.auth.projectId ?? "",
      model: call.request.model,
      servedModel: outcome.servedModel,
      endpointId: served?.endpointId ?? "",
      operation: call.operation,
      stream: Boolean(call.request.stream),
      promptTokens: ending.usage.promptTokens,
      completionTokens: ending.usage.completionTokens,
      cachedTokens: ending.usage.cachedTokens,
      latencyMs,
      timeToFirstTokenMs: ttftMs,
      status: ending.status,
      errorCode: outcome.errorCode ?? "",
      startedAtMs: BigInt(Math.round(Date.now() - latencyMs)),
      provider: served?.provider ?? "",
      attempts: run.attempts,
      fallbackIndex: served?.fallbackIndex ?? 0,
      route: served?.route ?? "",
      attemptErrors: run.attemptErrors,
      ...run.fields,
    });
  }
}

/** How the answering attempt ended, for its circuit and the router's Report. */
function attemptResult(error: StrataError | undefined, deadlineExpired: boolean): AttemptEnd["result"] {
  if (!error) return "success";
  // The client leaving, or its own deadline, says nothing about the upstream's health.
  if (error.code === "client_closed" || deadlineExpired) return "cancelled";
  return error.code === "timeout" ? "timeout" : "upstream-error";
}

function parseJson(body: Buffer | string): unknown {
  try {
    return JSON.parse(typeof body === "string" ? body : body.toString("utf8"));
  } catch {
    return undefined;
  }
}
