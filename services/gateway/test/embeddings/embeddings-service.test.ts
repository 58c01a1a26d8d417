import { Counter, Registry, StrataError, silentLogger } from "@strata/kit";
import { eventually } from "@strata/kit/testing";
import { describe, expect, it } from "vitest";
import type { AuthContext } from "../../src/auth/auth-context.js";
import { modelAuthorizer } from "../../src/auth/authorize-model.js";
import { BudgetGuard } from "../../src/budget/budget-guard.js";
import { MemorySpendCounters } from "../../src/budget/memory-spend-counters.js";
import type { Embedder } from "../../src/embeddings/embedder.js";
import type { EmbeddingsRequest } from "../../src/embeddings/embeddings-request.js";
import { EmbeddingsService } from "../../src/embeddings/embeddings-service.js";
import { LocalEmbedder } from "../../src/embeddings/local-embedder.js";
import { type LimitSettings, resolveLimits } from "../../src/limits/limit-settings.js";
import { LimitsAdmitter } from "../../src/limits/limits-admitter.js";
import { createGatewayMetrics } from "../../src/pipeline/gateway-metrics.js";
import { PriceTable } from "../../src/pricing/price-table.js";
import { MemoryRateLimiter } from "../../src/ratelimit/memory-rate-limiter.js";
import type { UsageEventInit } from "../../src/usage/usage-recorder.js";

const model = "strata-local-embed-v1";
// $2 per million input tokens: a 10-token request costs $0.00002.
const prices = new PriceTable({ [model]: { input: 2, output: 0 } });

function setUp(options: { key?: LimitSettings; allowedModels?: string[]; embedder?: Embedder } = {}) {
  let clock = Date.UTC(2025, 4, 1, 12);
  const acquired: number[] = [];
  const limiter = new MemoryRateLimiter({ now: () => clock });
  const counters = new MemorySpendCounters();
  const admitter = new LimitsAdmitter({
    settings: { forKey: () => resolveLimits(options.key ?? {}, {}), forTenant: () => resolveLimits({}, {}) },
    limiter: {
      acquire: (request) => {
        acquired.push(request.tokens);
        return limiter.acquire(request);
      },
    },
    budgets: new BudgetGuard({ counters, notifier: { notify: async () => {} }, now: () => clock }),
    prices,
    defaultCompletionTokens: 1_000,
    refusals: new Counter({
      name: "refusals",
      help: "refusals",
      labelNames: ["scope", "reason"],
      registers: [new Registry()],
    }),
    logger: silentLogger(),
  });
  const events: UsageEventInit[] = [];
  const registry = new Registry();
  const service = new EmbeddingsService({
    embedder: options.embedder ?? new LocalEmbedder(64),
    usage: { record: (event) => events.push(event) },
    authorizer: modelAuthorizer,
    admitter,
    metrics: createGatewayMetrics(registry),
    logger: silentLogger(),
  });
  const auth: AuthContext = {
    tenantId: "ten_1",
    apiKeyId: "key_1",
    projectId: "proj_1",
    allowedModels: options.allowedModels,
    metadata: {},
    expiresAt: undefined,
  };
  let sequence = 0;
  const embed = (inputs: string[], request: Partial<EmbeddingsRequest> = {}) => {
    const headers: Record<string, string> = {};
    const call = {
      request: { model, inputs, encodingFormat: "float" as const, dimensions: undefined, ...request },
      auth,
      requestId: `req_${++sequence}`,
      signal: new AbortController().signal,
      startedAt: performance.now(),
      headers,
    };
    return { headers, result: service.create(call) };
  };
  return { embed, events, acquired, counters, registry, advance: (ms: number) => (clock += ms) };
}

/** The samples of one metric family, as a scrape of /metrics would show them. */
async function samples(registry: Registry, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  return (metric?.values ?? []).map((value) => ({ ...value.labels, value: value.value }));
}

const failingEmbedder: Embedder = {
  model,
  provider: "openai",
  id: "failing",
  dimensions: 8,
  supportsDimensions: true,
  embed: async () => {
    throw new StrataError("upstream_error", "The embedding backend answered HTTP 503.");
  },
};

async function refusal(promise: Promise<unknown>): Promise<StrataError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!(error instanceof StrataError)) throw new Error(`expected a StrataError, got ${String(error)}`);
  return error;
}

describe("embeddings through the completions' steps", () => {
  it("refuses a key without the embedding model with 403 naming it, and records the refusal", async () => {
    const { embed, events, acquired } = setUp({
      allowedModels: ["strata-sim"],
      key: { requestsPerMinute: 5 },
    });
    const error = await refusal(embed(["hello"]).result);
    expect(error).toMatchObject({ code: "permission_denied", httpStatus: 403, param: "model" });
    expect(error.message).toBe(`This API key is not allowed to use the model '${model}'.`);
    expect(acquired).toEqual([]); // refused before admission: no rate limit used
    expect(events).toEqual([
      expect.objectContaining({
        operation: "embeddings",
        status: 403,
        errorCode: "permission_denied",
        promptTokens: 0,
        provider: "",
        attempts: 0,
      }),
    ]);
  });

  it("admits against RPM with OpenAI's headers, then refuses with 429 and a retry-after", async () => {
    const { embed, events, advance } = setUp({ key: { requestsPerMinute: 1 } });
    const first = embed(["first"]);
    await first.result;
    expect(first.headers).toMatchObject({
      "x-ratelimit-limit-requests": "1",
      "x-ratelimit-remaining-requests": "0",
      "x-strata-route": `backend=local; model=${model}`,
    });
    const second = embed(["second"]);
    const error = await refusal(second.result);
    expect(error).toMatchObject({ code: "rate_limit_exceeded", httpStatus: 429 });
    expect(error.message).toContain("requests per minute (RPM) on API key key_1");
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(Number(second.headers["retry-after-ms"])).toBeGreaterThan(0);
    expect(second.headers["x-strata-route"]).toBeUndefined();
    expect(events.map((event) => [event.status, event.errorCode])).toEqual([
      [200, ""],
      [429, "rate_limit_exceeded"],
    ]);
    advance(60_000);
    await embed(["third"]).result;
  });

  it("estimates TPM from the inputs alone, charges the real count, and prices the input tokens", async () => {
    const { embed, events, acquired, counters } = setUp({ key: { tokensPerMinute: 50 } });
    const texts = ["a".repeat(40), "b".repeat(39)]; // 10 + 10 tokens, no completion
    const { result, headers } = embed(texts);
    const batch = await result;
    expect(acquired).toEqual([20]);
    expect(batch.promptTokens).toBe(20);
    expect(headers["x-ratelimit-limit-tokens"]).toBe("50");
    const event = events[0]!;
    expect(event).toMatchObject({
      operation: "embeddings",
      status: 200,
      promptTokens: 20,
      servedModel: model,
      projectId: "proj_1",
      provider: "local",
      attempts: 1,
      fallbackIndex: 0,
      route: `backend=local; model=${model}`,
      attemptErrors: [],
      pricedModel: model,
      inputUsdPerMtok: 2,
    });
    expect(event.costUsd).toBeCloseTo((20 * 2) / 1_000_000, 12);
    expect(event.completionTokens ?? 0).toBe(0);
    // The spend counts against budgets like a completion's.
    await eventually(() => expect(counters.lookup("key", "key_1")?.daySpend).toBeCloseTo(event.costUsd!, 12));
    // 20 of 50 used: a 40-token request no longer fits this minute, a 20-token one still does.
    expect((await refusal(embed(["c".repeat(160)]).result)).message).toContain("tokens per minute (TPM)");
    await embed(["d".repeat(80)]).result;
  });

  it("charges nothing for a model it cannot embed with, and names the failed backend try", async () => {
    const { embed, events, acquired } = setUp({ key: { requestsPerMinute: 10 } });
    const wrong = await refusal(embed(["x"], { model: "text-embedding-3-small" }).result);
    expect(wrong).toMatchObject({ code: "model_not_found", httpStatus: 404 });
    expect(acquired).toEqual([]);

    const broken = setUp({ embedder: failingEmbedder });
    const error = await refusal(broken.embed(["x"]).result);
    expect(error.code).toBe("upstream_error");
    expect(broken.events[0]).toMatchObject({
      status: 502,
      provider: "",
      servedModel: "",
      attempts: 1,
      route: "",
      costUsd: 0,
      attemptErrors: [`openai:${model}: The embedding backend answered HTTP 503.`],
    });
    expect(events[0]).toMatchObject({ status: 404, attempts: 0, errorCode: "model_not_found" });
  });

  it("counts every call in the gateway's request metrics, as completions are counted", async () => {
    const { embed, registry } = setUp({ key: { requestsPerMinute: 2 }, allowedModels: [model] });
    await embed(["a".repeat(40)]).result; // 10 tokens
    await embed(["b".repeat(20)]).result; // 5 tokens
    expect((await refusal(embed(["c"]).result)).httpStatus).toBe(429);
    const forbidden = setUp({ allowedModels: ["strata-sim"] });
    expect((await refusal(forbidden.embed(["d"]).result)).httpStatus).toBe(403);
    const broken = setUp({ embedder: failingEmbedder });
    expect((await refusal(broken.embed(["e"]).result)).httpStatus).toBe(502);

    expect(await samples(registry, "strata_gateway_requests_total")).toEqual([
      { operation: "embeddings", model, status: 200, value: 2 },
      { operation: "embeddings", model, status: 429, value: 1 },
    ]);
    expect(await samples(forbidden.registry, "strata_gateway_requests_total")).toEqual([
      { operation: "embeddings", model, status: 403, value: 1 },
    ]);
    expect(await samples(broken.registry, "strata_gateway_requests_total")).toEqual([
      { operation: "embeddings", model, status: 502, value: 1 },
    ]);
    // Tokens only for the answered calls; an embedding has no completion tokens.
    expect(await samples(registry, "strata_gateway_tokens_total")).toEqual([
      { model, type: "prompt", value: 15 },
      { model, type: "completion", value: 0 },
      { model, type: "cached", value: 0 },
    ]);
    expect(await samples(broken.registry, "strata_gateway_tokens_total")).toEqual([]);
    const durations = await samples(registry, "strata_gateway_request_duration_seconds");
    expect(durations).toContainEqual(
      expect.objectContaining({ operation: "embeddings", model, le: "+Inf", value: 3 }),
    );
  });
});
