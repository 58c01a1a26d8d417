import { describe, expect, it } from "vitest";
import { batchOutput } from "../../src/batch/batch-output.js";
import { parseBatchJsonl } from "../../src/files/batch-jsonl.js";
import { ModelRateLimiter } from "../../src/jobs/model-rate-limiter.js";
import { signWebhook, tenantWebhookSecret, verifyWebhook } from "../../src/jobs/webhook-signature.js";

describe("ModelRateLimiter", () => {
  const limiter = (now: () => number) =>
    new ModelRateLimiter(
      {
        default: { requestsPerMinute: 60, burst: 1 },
        models: { fast: { requestsPerMinute: 600, burst: 3 } },
      },
      { now, sleep: async () => {} },
    );

  it("lets a burst through, then spaces requests by the interval, in the order they asked", () => {
    const now = 0;
    const rate = limiter(() => now);
    expect([rate.reserve("fast"), rate.reserve("fast"), rate.reserve("fast")]).toEqual([0, 0, 0]);
    expect(rate.reserve("fast")).toBe(100);
    expect(rate.reserve("fast")).toBe(200);
    // Another model has its own bucket (the default: 1 per second, no burst).
    expect(rate.reserve("other")).toBe(0);
    expect(rate.reserve("other")).toBe(1_000);
  });

  it("refills while idle, but never beyond the burst", () => {
    let now = 0;
    const rate = limiter(() => now);
    for (let index = 0; index < 3; index++) rate.reserve("fast");
    now = 10_000;
    expect([rate.reserve("fast"), rate.reserve("fast"), rate.reserve("fast")]).toEqual([0, 0, 0]);
    expect(rate.reserve("fast")).toBe(100);
  });

  it("does not limit models without a rate when there is no default", () => {
    const rate = new ModelRateLimiter({ models: {} });
    expect(rate.reserve("any")).toBe(0);
    expect(rate.reserve("any")).toBe(0);
  });
});

describe("webhook signatures", () => {
  const secret = tenantWebhookSecret("gateway-secret-0123456789", "ten_a");
  const body = '{"id":"evt_1"}';

  it("verifies what it signs, within the tolerance, and nothing else", () => {
    const header = signWebhook(secret, body, 1_000);
    expect(header).toMatch(/^t=1000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(secret, header, body, { nowSeconds: 1_100 })).toBe(true);
    expect(verifyWebhook(secret, header, `${body} `, { nowSeconds: 1_100 })).toBe(false);
    expect(verifyWebhook(secret, header, body, { nowSeconds: 1_000 + 301 })).toBe(false);
    expect(verifyWebhook(secret, header.replace("t=1000", "t=1001"), body, { nowSeconds: 1_001 })).toBe(
      false,
    );
    expect(verifyWebhook(secret, undefined, body)).toBe(false);
    expect(verifyWebhook(secret, "garbage", body)).toBe(false);
  });

  it("derives a different secret per tenant", () => {
    expect(secret).toMatch(/^whsec_/);
    expect(tenantWebhookSecret("gateway-secret-0123456789", "ten_b")).not.toBe(secret);
    const header = signWebhook(secret, body, 1_000);
    expect(
      verifyWebhook(tenantWebhookSecret("gateway-secret-0123456789", "ten_b"), header, body, {
        nowSeconds: 1_000,
      }),
    ).toBe(false);
  });
});

describe("batch input files", () => {
  const line = (id: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      custom_id: id,
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: "m" },
      ...extra,
    });
  const parse = (text: string, max = 10) => parseBatchJsonl(Buffer.from(text), max);

  it("reads one request per line, skipping blank lines and keeping line numbers", () => {
    const lines = parse(`${line("a")}\r\n\n${line("b")}\n`);
    expect(lines.map((entry) => [entry.line, entry.customId])).toEqual([
      [1, "a"],
      [3, "b"],
    ]);
  });

  it("names the line of the first problem", () => {
    expect(() => parse(`${line("a")}\n[1]`)).toThrow(/^Line 2: each line must be a JSON object/);
    expect(() => parse(`${line("a")}\n${line("")}`)).toThrow(/^Line 2: 'custom_id' must be a string/);
    expect(() => parse(line("a", { body: "text" }))).toThrow(/^Line 1: 'body' must be a JSON object/);
    expect(() => parse(line("a", { body: {} }))).toThrow(/^Line 1: 'body.model' must name a model/);
    expect(() => parse(`${line("a")}\n${line("b")}\n${line("c")}`, 2)).toThrow(/more than 2 requests/);
    expect(() => parseBatchJsonl(Buffer.from([0xc3, 0x28]), 10)).toThrow(/not valid UTF-8/);
  });
});

describe("batch output lines", () => {
  it("puts answered requests in the output or error file by status, and unanswered ones in the error file", () => {
    const { output, errors } = batchOutput([
      {
        jobId: "job_1",
        customId: "ok",
        status: "succeeded",
        resultStatus: 200,
        resultBody: { x: 1 },
        error: undefined,
        requestId: "req_1",
      },
      {
        jobId: "job_2",
        customId: "bad",
        status: "failed",
        resultStatus: 400,
        resultBody: { error: { message: "no" } },
        error: { code: "invalid_request", message: "no" },
        requestId: "req_2",
      },
      {
        jobId: "job_3",
        customId: "stopped",
        status: "cancelled",
        resultStatus: undefined,
        resultBody: undefined,
        error: { code: "batch_cancelled", message: "cancelled" },
        requestId: undefined,
      },
    ]);
    expect(output.map((text) => JSON.parse(text))).toEqual([
      {
        id: "batch_req_1",
        custom_id: "ok",
        response: { status_code: 200, request_id: "req_1", body: { x: 1 } },
        error: null,
      },
    ]);
    expect(errors.map((text) => JSON.parse(text))).toEqual([
      {
        id: "batch_req_2",
        custom_id: "bad",
        response: { status_code: 400, request_id: "req_2", body: { error: { message: "no" } } },
        error: null,
      },
      {
        id: "batch_req_3",
        custom_id: "stopped",
        response: null,
        error: { code: "batch_cancelled", message: "cancelled" },
      },
    ]);
  });
});
