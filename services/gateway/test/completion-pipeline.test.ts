import { type Attributes, type Span, type Tracer, type TracerProvider, trace } from "@opentelemetry/api";
import { Registry, StrataError, silentLogger } from "@strata/kit";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CompletionCall } from "../src/pipeline/completion-call.js";
import { CompletionPipeline, type PipelineDeps } from "../src/pipeline/completion-pipeline.js";
import { createGatewayMetrics } from "../src/pipeline/gateway-metrics.js";
import type { CachedAnswer, RequestOutcome } from "../src/pipeline/pipeline-steps.js";
import { DispatchError, type Dispatched, type ServedBy } from "../src/providers/dispatcher.js";
import type { AttemptEnd, UpstreamAnswer } from "../src/providers/provider.js";
import type { UsageEventInit } from "../src/usage/usage-recorder.js";

/** Spans as attribute bags: a minimal tracer provider recording what the pipeline sets. */
const spans: Attributes[] = [];
class RecordingTracer implements Tracer {
  startSpan(_name: string, options?: { attributes?: Attributes }): Span {
    const attributes: Attributes = { ...options?.attributes };
    spans.push(attributes);
    const span = {
      setAttribute: (key: string, value: unknown) => {
        attributes[key] = value as never;
        return span;
      },
      setAttributes: (more: Attributes) => {
        Object.assign(attributes, more);
        return span;
      },
      setStatus: () => span,
      addEvent: () => span,
      end: () => undefined,
      isRecording: () => true,
      spanContext: () => ({ traceId: "0".repeat(32), spanId: "0".repeat(16), traceFlags: 1 }),
    };
    return span as unknown as Span;
  }
  startActiveSpan(): never {
    throw new Error("not used");
  }
}
const provider: TracerProvider = { getTracer: () => new RecordingTracer() };

const served: ServedBy = {
  provider: "oai",
  kind: "openai",
  servedModel: "gpt-x",
  endpointId: "oai",
  route: "provider=oai; model=gpt-x; attempts=2",
  attempts: 2,
  fallbackIndex: 1,
  attemptErrors: ["a:m (a): boom"],
};
const usageJson = {
  usage: { prompt_tokens: 5, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 2 } },
};

function harness(answer: () => UpstreamAnswer | Promise<never>) {
  const steps: string[] = [];
  const events: UsageEventInit[] = [];
  const settled: RequestOutcome[] = [];
  const ended: AttemptEnd[] = [];
  const stored: CachedAnswer[] = [];
  let hit: CachedAnswer | undefined;
  const deps: PipelineDeps = {
    dispatcher: {
      dispatch: async () => {
        steps.push("dispatch");
        const upstream = await answer();
        return { answer: upstream, served, end: (outcome) => ended.push(outcome) } satisfies Dispatched;
      },
    },
    usage: { record: (event) => void events.push(event) },
    metrics: createGatewayMetrics(new Registry()),
    logger: silentLogger(),
    authorizer: { authorize: () => void steps.push("authorize") },
    admitter: {
      admit: async (call, usage) => {
        steps.push("admit");
        call.headers["x-ratelimit-remaining-requests"] = "9";
        usage.costUsd = 0;
        return {
          settle: (outcome, fields) => {
            steps.push("settle");
            settled.push(outcome);
            fields.costUsd = 0.25;
          },
        };
      },
    },
    cache: {
      lookup: async (call) => {
        steps.push("cache lookup");
        call.headers["x-strata-cache"] = hit ? "hit" : "miss";
        return hit && { status: "hit", answer: hit, servedModel: "cached-model" };
      },
      wantsStore: () => true,
      store: (_call, cached) => {
        steps.push("cache store");
        stored.push(cached);
      },
    },
  };
  return {
    pipeline: new CompletionPipeline(deps),
    steps,
    events,
    settled,
    ended,
    stored,
    setHit: (answer: CachedAnswer) => {
      hit = answer;
    },
  };
}

function call(extra: Partial<CompletionCall["request"]> = {}): CompletionCall {
  return {
    operation: "chat.completions",
    request: {
      model: "best",
      messages: [{ role: "user", content: "hi" }],
      ...extra,
    } as CompletionCall["request"],
    auth: { tenantId: "t1", apiKeyId: "k1" } as CompletionCall["auth"],
    requestId: "req_test",
    signal: new AbortController().signal,
    startedAt: performance.now(),
    headers: {},
  };
}

/** Bookkeeping (cache store, settle, usage) runs right after a JSON answer has been handed over. */
const afterAnswer = () => new Promise((resolve) => setImmediate(resolve));

async function drain(events: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe("CompletionPipeline", () => {
  beforeAll(() => {
    trace.setGlobalTracerProvider(provider);
  });
  afterEach(() => {
    spans.length = 0;
  });

  it("runs the steps in order and records who served, in headers, usage and the trace", async () => {
    const run = harness(() => ({ kind: "json", status: 200, body: Buffer.from(JSON.stringify(usageJson)) }));
    const request = call();
    const result = await run.pipeline.execute(request);
    await afterAnswer();
    expect(result.kind).toBe("json");
    expect(result.headers).toBe(request.headers);
    expect(result.headers).toEqual({
      "x-ratelimit-remaining-requests": "9",
      "x-strata-cache": "miss",
      "x-strata-route": "provider=oai; model=gpt-x; attempts=2",
    });
    expect(run.steps).toEqual(["authorize", "admit", "cache lookup", "dispatch", "cache store", "settle"]);
    expect(run.settled[0]).toEqual({
      status: 200,
      usage: { promptTokens: 5, completionTokens: 3, cachedTokens: 2 },
      servedModel: "gpt-x",
      provider: "oai",
    });
    expect(run.ended.map((end) => end.result)).toEqual(["success"]);
    expect(run.events[0]).toMatchObject({
      provider: "oai",
      attempts: 2,
      fallbackIndex: 1,
      route: "provider=oai; model=gpt-x; attempts=2",
      attemptErrors: ["a:m (a): boom"],
      servedModel: "gpt-x",
      promptTokens: 5,
      costUsd: 0.25,
      status: 200,
    });
    expect(spans[0]).toMatchObject({
      "strata.route": "provider=oai; model=gpt-x; attempts=2",
      "strata.provider": "oai",
      "strata.attempts": 2,
      "strata.fallback.index": 1,
      "gen_ai.provider.name": "openai",
      "gen_ai.response.model": "gpt-x",
      "gen_ai.usage.input_tokens": 5,
    });
  });

  it("answers a cache hit without dispatching", async () => {
    const run = harness(() => {
      throw new Error("must not dispatch");
    });
    run.setHit({
      kind: "json",
      body: Buffer.from("{}"),
      usage: { promptTokens: 1, completionTokens: 1, cachedTokens: 0 },
    });
    const result = await run.pipeline.execute(call());
    expect(result.headers["x-strata-cache"]).toBe("hit");
    expect(run.steps).toEqual(["authorize", "admit", "cache lookup", "settle"]);
    expect(run.events[0]).toMatchObject({ servedModel: "cached-model", attempts: 0, status: 200 });
  });

  it("accounts a failed dispatch with its attempts and keeps the steps' headers for the error", async () => {
    const failure = new DispatchError(new StrataError("upstream_error", "all failed"), 3, ["x", "y", "z"]);
    const run = harness(() => Promise.reject(failure));
    const request = call();
    await expect(run.pipeline.execute(request)).rejects.toMatchObject({ code: "upstream_error" });
    expect(request.headers["x-ratelimit-remaining-requests"]).toBe("9");
    expect(run.settled[0]).toMatchObject({ status: 502, errorCode: "upstream_error" });
    expect(run.events[0]).toMatchObject({ attempts: 3, attemptErrors: ["x", "y", "z"], status: 502 });
  });

  it("streams, drops the usage chunk the client did not ask for, and stores the whole stream", async () => {
    const chunks = [
      '{"choices":[{"delta":{"content":"a"}}]}',
      `{"choices":[],${JSON.stringify(usageJson).slice(1)}`,
      "[DONE]",
    ];
    const run = harness(() => ({
      kind: "stream",
      events: (async function* () {
        yield* chunks;
      })(),
    }));
    const result = await run.pipeline.execute(call({ stream: true }));
    if (result.kind !== "stream") throw new Error("expected a stream");
    expect(await drain(result.events)).toEqual([chunks[0], "[DONE]"]);
    expect(run.stored[0]).toMatchObject({ kind: "stream", events: chunks, usage: { promptTokens: 5 } });
    expect(run.events[0]).toMatchObject({ status: 200, completionTokens: 3 });
    expect(run.ended[0]?.result).toBe("success");
  });

  it("records a stream that breaks mid-way as failed, and stores nothing", async () => {
    const run = harness(() => ({
      kind: "stream",
      events: (async function* () {
        yield '{"choices":[{"delta":{"content":"a"}}]}';
        throw new StrataError("upstream_error", "connection lost");
      })(),
    }));
    const result = await run.pipeline.execute(call({ stream: true }));
    if (result.kind !== "stream") throw new Error("expected a stream");
    await expect(drain(result.events)).rejects.toMatchObject({ code: "upstream_error" });
    expect(run.stored).toEqual([]);
    expect(run.ended[0]?.result).toBe("upstream-error");
    expect(run.events[0]).toMatchObject({ status: 502, errorCode: "upstream_error" });
  });

  it("hands dispatch a signal that fires at the client's deadline, and answers 504", async () => {
    const events: UsageEventInit[] = [];
    let deadline: number | undefined;
    const pipeline = new CompletionPipeline({
      dispatcher: {
        dispatch: (request) => {
          deadline = request.deadline;
          return new Promise<never>((_resolve, reject) =>
            request.signal.addEventListener("abort", () => reject(request.signal.reason)),
          );
        },
      },
      usage: { record: (event) => void events.push(event) },
      metrics: createGatewayMetrics(new Registry()),
      logger: silentLogger(),
    });
    const request = { ...call(), timeoutMs: 50 };
    await expect(pipeline.execute(request)).rejects.toMatchObject({ code: "timeout", httpStatus: 504 });
    expect(deadline).toBe(request.startedAt + 50);
    expect(events[0]).toMatchObject({ status: 504, errorCode: "timeout" });
  });
});
