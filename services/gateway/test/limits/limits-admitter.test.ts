import { Counter, Registry, StrataError, silentLogger } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { BudgetGuard } from "../../src/budget/budget-guard.js";
import { MemorySpendCounters } from "../../src/budget/memory-spend-counters.js";
import { type LimitSettings, resolveLimits } from "../../src/limits/limit-settings.js";
import { LimitsAdmitter } from "../../src/limits/limits-admitter.js";
import type { CompletionCall } from "../../src/pipeline/completion-call.js";
import type { UsageFields } from "../../src/pipeline/pipeline-steps.js";
import { PriceTable } from "../../src/pricing/price-table.js";
import { MemoryRateLimiter } from "../../src/ratelimit/memory-rate-limiter.js";

function setUp(key: LimitSettings, tenant: LimitSettings = {}) {
  let clock = Date.UTC(2025, 4, 1, 12);
  const acquired: number[] = [];
  const limiter = new MemoryRateLimiter({ now: () => clock });
  const admitter = new LimitsAdmitter({
    settings: { forKey: () => resolveLimits(key, {}), forTenant: () => resolveLimits(tenant, {}) },
    limiter: {
      acquire: (request) => {
        acquired.push(request.tokens);
        return limiter.acquire(request);
      },
    },
    budgets: new BudgetGuard({
      counters: new MemorySpendCounters(),
      notifier: { notify: async () => {} },
      now: () => clock,
    }),
    prices: new PriceTable({ m: { input: 1, output: 4, cachedInput: 0.5 } }),
    defaultCompletionTokens: 100,
    refusals: new Counter({
      name: "r",
      help: "r",
      labelNames: ["scope", "reason"],
      registers: [new Registry()],
    }),
    logger: silentLogger(),
  });
  let sequence = 0;
  const call = (content = "x".repeat(40), maxTokens?: number): CompletionCall => ({
    operation: "chat.completions",
    request: {
      model: "m",
      messages: [{ role: "user", content }],
      ...(maxTokens ? { max_tokens: maxTokens } : {}),
    },
    auth: {
      tenantId: "ten",
      apiKeyId: "key",
      projectId: undefined,
      allowedModels: undefined,
      metadata: {},
      expiresAt: undefined,
    },
    requestId: `req_${++sequence}`,
    signal: new AbortController().signal,
    startedAt: 0,
    headers: {},
  });
  return { admitter, call, acquired, advance: (ms: number) => (clock += ms) };
}

const served = (promptTokens: number, completionTokens: number, cachedTokens = 0) => ({
  status: 200,
  usage: { promptTokens, completionTokens, cachedTokens },
  servedModel: "m",
  provider: "engine",
});

async function refusal(promise: Promise<unknown>): Promise<StrataError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!(error instanceof StrataError)) throw new Error("expected a StrataError");
  return error;
}

describe("the admit step", () => {
  it("does no rate-limit work and sends no headers when nothing is limited", async () => {
    const { admitter, call, acquired } = setUp({});
    const request = call();
    await admitter.admit(request);
    expect(acquired).toEqual([]);
    expect(request.headers).toEqual({});
  });

  it("estimates prompt plus max_tokens, sends OpenAI's headers, and refuses with retry hints", async () => {
    const { admitter, call, acquired } = setUp({ requestsPerMinute: 1, tokensPerMinute: 1_000 });
    const first = call("y".repeat(36), 50); // "user: " + 36 characters → 42 / 4 → 11 tokens, + 50
    await admitter.admit(first);
    expect(acquired).toEqual([61]);
    expect(first.headers).toEqual({
      "x-ratelimit-limit-requests": "1",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": "1m0s",
      "x-ratelimit-limit-tokens": "1000",
      "x-ratelimit-remaining-tokens": "939",
      "x-ratelimit-reset-tokens": "3.66s",
    });
    const second = call();
    const error = await refusal(admitter.admit(second));
    expect(error).toMatchObject({ code: "rate_limit_exceeded", retryAfterSeconds: 60 });
    expect(error.message).toBe(
      "Rate limit reached for requests per minute (RPM) on API key key: Limit 1, Requested 1. Please try again in 1m0s.",
    );
    expect(second.headers["retry-after-ms"]).toBe("60000");
    expect(second.headers["x-ratelimit-remaining-requests"]).toBe("0");
  });

  it("tells a client whose request can never fit not to retry", async () => {
    const { admitter, call } = setUp({ tokensPerMinute: 100 });
    const request = call("z", 500);
    const error = await refusal(admitter.admit(request));
    expect(error.retryable).toBe(false);
    expect(error.retryAfterSeconds).toBeUndefined();
    expect(error.message).toContain("Request too large for the tokens per minute (TPM) limit of API key key");
    expect(request.headers["x-should-retry"]).toBe("false");
  });

  it("charges the real tokens and the cost when the request settles", async () => {
    const { admitter, call } = setUp({ tokensPerMinute: 1_000 });
    const admission = await admitter.admit(call("w".repeat(393), 500)); // 100 + 500 estimated
    const fields: UsageFields = {};
    admission.settle(served(100, 40, 60), fields);
    // 40 uncached × $1 + 60 cached × $0.50 + 40 completion × $4, per million
    expect(fields.costUsd).toBeCloseTo((40 + 30 + 160) / 1e6, 12);
    expect(fields).toMatchObject({ pricedModel: "m", inputUsdPerMtok: 1, outputUsdPerMtok: 4 });
    // 140 of the 600 estimated were used; 860 remain for the next request to see.
    const next = call("v".repeat(393), 1);
    await admitter.admit(next);
    expect(next.headers["x-ratelimit-remaining-tokens"]).toBe("759");
  });

  it("charges nothing for an answer from the gateway's cache", async () => {
    const { admitter, call } = setUp({ tokensPerMinute: 1_000, dailyBudgetUsd: 0.000_001 });
    const fields: UsageFields = {};
    (await admitter.admit(call("c".repeat(393), 500))).settle(
      {
        status: 200,
        usage: { promptTokens: 100, completionTokens: 500, cachedTokens: 0 },
        servedModel: "m",
        provider: "",
      },
      fields,
    );
    expect(fields.costUsd).toBeUndefined();
    const next = call("c".repeat(393), 500);
    await admitter.admit(next); // neither the budget nor the tokens were used up
    expect(next.headers["x-ratelimit-remaining-tokens"]).toBe("400");
  });

  it("refuses a spent budget before the rate limits, telling OpenAI clients not to retry", async () => {
    const { admitter, call, acquired } = setUp({ requestsPerMinute: 100, dailyBudgetUsd: 0.0001 });
    (await admitter.admit(call())).settle(served(100, 100), {}); // $0.0005
    await new Promise((resolve) => setImmediate(resolve));
    const request = call();
    const error = await refusal(admitter.admit(request));
    expect(error).toMatchObject({ code: "insufficient_quota", httpStatus: 429 });
    expect(request.headers["x-should-retry"]).toBe("false");
    expect(acquired).toHaveLength(1); // the refused request took no rate-limit allowance
  });
});
