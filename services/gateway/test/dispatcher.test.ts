import { Registry, StrataError, silentLogger } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../src/providers/circuit-breaker.js";
import { DispatchError, Dispatcher, type DispatchRequest } from "../src/providers/dispatcher.js";
import { ModelChains } from "../src/providers/model-chains.js";
import type {
  PreparedAttempt,
  Provider,
  ProviderKind,
  ProviderRequest,
  UpstreamAnswer,
} from "../src/providers/provider.js";
import { createProviderMetrics } from "../src/providers/provider-metrics.js";

/** What one attempt of a fake provider does. */
type Step =
  | { ok: string }
  | { status: number; retryAfterMs?: number }
  | "connect-refused"
  | "hang"
  | { stream: string[]; failAfter?: number };

/** A provider whose attempts follow a script, recording every call it got. */
class ScriptedProvider implements Provider {
  readonly calls: ProviderRequest[] = [];
  ended: string[] = [];

  constructor(
    readonly name: string,
    private readonly steps: Step[],
    readonly maxRetries = 2,
    private readonly extra: Partial<PreparedAttempt> = {},
    readonly kind: ProviderKind = "openai",
  ) {}

  async prepare(request: ProviderRequest): Promise<PreparedAttempt> {
    const step = this.steps[Math.min(this.calls.length, this.steps.length - 1)]!;
    this.calls.push(request);
    return {
      provider: this.name,
      kind: this.kind,
      servedModel: request.model,
      endpointId: this.name,
      address: `http://${this.name}`,
      breakerKey: this.name,
      route: `provider=${this.name}; model=${request.model}`,
      fallbacks: [],
      timeoutMs: 1_000,
      send: (signal) => perform(step, signal),
      end: (outcome) => this.ended.push(outcome.result),
      ...this.extra,
    };
  }
}

async function perform(step: Step, signal: AbortSignal): Promise<UpstreamAnswer> {
  if (step === "connect-refused") {
    throw new StrataError("upstream_error", "Could not reach", { cause: { code: "ECONNREFUSED" } });
  }
  if (step === "hang") {
    await new Promise((_resolve, reject) =>
      signal.addEventListener("abort", () => reject(new Error("aborted"))),
    );
  }
  if (typeof step === "object" && "ok" in step)
    return { kind: "json", status: 200, body: Buffer.from(step.ok) };
  if (typeof step === "object" && "status" in step)
    return {
      kind: "json",
      status: step.status,
      body: Buffer.from('{"error":{"message":"nope"}}'),
      retryAfterMs: step.retryAfterMs,
    };
  const { stream, failAfter } = step as { stream: string[]; failAfter?: number };
  return {
    kind: "stream",
    events: (async function* () {
      for (const [index, event] of stream.entries()) {
        if (index === failAfter) throw new StrataError("upstream_error", "connection lost");
        yield event;
      }
    })(),
  };
}

function dispatcher(providers: Provider[], aliases: Record<string, string[]> = {}, breakerFailures = 100) {
  const map = new Map(providers.map((provider) => [provider.name, provider]));
  const breaker = new CircuitBreaker(
    {
      consecutiveFailures: breakerFailures,
      windowMs: 10_000,
      failureRate: 1,
      minimumRequests: 1_000,
      openMs: 60_000,
      halfOpenProbes: 1,
    },
    { logger: silentLogger() },
  );
  return new Dispatcher({
    providers: map,
    chains: new ModelChains(aliases, new Set(map.keys())),
    breaker,
    backoff: { initialBackoffMs: 1, maxBackoffMs: 5, maxRetryAfterMs: 500 },
    metrics: createProviderMetrics(new Registry()),
    logger: silentLogger(),
    random: () => 0,
  });
}

function request(model: string, extra: Partial<DispatchRequest> = {}): DispatchRequest {
  return {
    operation: "chat.completions",
    body: { model, messages: [{ role: "user", content: "hi" }] },
    requestId: "req_1",
    tenantId: "t",
    signal: new AbortController().signal,
    deadline: undefined,
    ...extra,
  };
}

const text = (answer: UpstreamAnswer) => (answer.kind === "json" ? answer.body.toString() : "");

describe("Dispatcher", () => {
  it("retries retryable statuses and connect failures, then answers", async () => {
    const provider = new ScriptedProvider("a", [{ status: 503 }, "connect-refused", { ok: "fine" }]);
    const result = await dispatcher([provider]).dispatch(request("a:m"));
    expect(text(result.answer)).toBe("fine");
    expect(result.served).toMatchObject({
      provider: "a",
      attempts: 3,
      fallbackIndex: 0,
      route: "provider=a; model=m; attempts=3",
    });
    expect(result.served.attemptErrors).toHaveLength(2);
    expect(provider.calls.map((call) => call.attemptId)).toEqual(["req_1", "req_1-2", "req_1-3"]);
    expect(provider.ended).toEqual(["upstream-error", "connect-error"]);
  });

  it("hands a client error back at once", async () => {
    const provider = new ScriptedProvider("a", [{ status: 400 }, { ok: "never" }]);
    const result = await dispatcher([provider]).dispatch(request("a:m"));
    expect(result.answer).toMatchObject({ kind: "json", status: 400 });
    expect(provider.calls).toHaveLength(1);
  });

  it("walks the chain in order once an entry's retries are spent", async () => {
    const first = new ScriptedProvider("a", [{ status: 500 }], 1);
    const second = new ScriptedProvider("b", [{ status: 502 }], 0);
    const third = new ScriptedProvider("c", [{ ok: "third" }]);
    const result = await dispatcher([first, second, third], { best: ["a:x", "b:y", "c:z"] }).dispatch(
      request("best"),
    );
    expect(text(result.answer)).toBe("third");
    expect(result.served).toMatchObject({ provider: "c", servedModel: "z", attempts: 4, fallbackIndex: 2 });
    expect([first.calls.length, second.calls.length]).toEqual([2, 1]);
  });

  it("skips to the next entry when Retry-After asks for longer than it is worth waiting", async () => {
    const slow = new ScriptedProvider("a", [{ status: 429, retryAfterMs: 60_000 }]);
    const other = new ScriptedProvider("b", [{ ok: "b" }]);
    const started = Date.now();
    const result = await dispatcher([slow, other], { best: ["a:x", "b:y"] }).dispatch(request("best"));
    expect(result.served.provider).toBe("b");
    expect(slow.calls).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("surfaces the last failure, with a 429's Retry-After, when every entry failed", async () => {
    const limited = new ScriptedProvider("a", [{ status: 429, retryAfterMs: 2_500 }], 0);
    const error = await dispatcher([limited])
      .dispatch(request("a:m"))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DispatchError);
    expect(error).toMatchObject({ code: "rate_limit_exceeded", retryAfterSeconds: 3, attempts: 1 });
  });

  it("gives an attempt that does not start in time up as a timeout, and retries it", async () => {
    const provider = new ScriptedProvider("a", ["hang", { ok: "second" }], 2, { timeoutMs: 30 });
    const result = await dispatcher([provider]).dispatch(request("a:m"));
    expect(text(result.answer)).toBe("second");
    expect(result.served.attemptErrors[0]).toMatch(/did not start answering within 30 ms/);
    expect(provider.ended[0]).toBe("timeout");
  });

  it("stops at the request's deadline, whatever retries remain", async () => {
    const provider = new ScriptedProvider("a", ["hang"], 10);
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(new StrataError("timeout", "deadline passed")), 50);
    const started = performance.now();
    const error = await dispatcher([provider])
      .dispatch(request("a:m", { signal: deadline.signal, deadline: started + 50 }))
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "timeout" });
    expect(performance.now() - started).toBeLessThan(900);
    expect(provider.ended).toEqual(["cancelled"]);
  });

  it("retries a stream that fails before its first event, never one that has begun", async () => {
    const provider = new ScriptedProvider("a", [
      { stream: ["a", "b"], failAfter: 0 },
      { stream: ["x", "y", "z"], failAfter: 2 },
    ]);
    const result = await dispatcher([provider]).dispatch(request("a:m"));
    expect(result.served.attempts).toBe(2);
    const seen: string[] = [];
    const failure = await (async () => {
      if (result.answer.kind !== "stream") throw new Error("expected a stream");
      for await (const event of result.answer.events) seen.push(event);
    })().catch((caught: unknown) => caught);
    expect(seen).toEqual(["x", "y"]);
    expect(failure).toMatchObject({ code: "upstream_error" });
    expect(provider.calls).toHaveLength(2);
  });

  it("refuses a target whose circuit is open without calling it", async () => {
    const broken = new ScriptedProvider("a", [{ status: 500 }], 0);
    const backup = new ScriptedProvider("b", [{ ok: "b" }]);
    const dispatch = dispatcher([broken, backup], { best: ["a:x", "b:y"] }, 1);
    await dispatch.dispatch(request("best"));
    const second = await dispatch.dispatch(request("best"));
    expect(second.served).toMatchObject({ provider: "b", fallbackIndex: 1 });
    expect(second.served.attemptErrors[0]).toMatch(/circuit .* is open/);
    expect(broken.ended).toEqual(["upstream-error", "cancelled"]);
  });

  it("follows the router's fallbacks right after the entry that named them", async () => {
    const engine = new ScriptedProvider(
      "engine",
      [{ status: 500 }, { ok: "small" }],
      0,
      { fallbacks: ["small", "tiny"] },
      "engine",
    );
    const result = await dispatcher([engine]).dispatch(request("big"));
    expect(engine.calls.map((call) => call.model)).toEqual(["big", "small"]);
    expect(result.served.fallbackIndex).toBe(1);
  });
});
