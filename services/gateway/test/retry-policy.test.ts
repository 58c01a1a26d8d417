import { describe, expect, it } from "vitest";
import { backoffDelayMs, isRetryableStatus, parseRetryAfterMs } from "../src/providers/retry-policy.js";

const backoff = { initialBackoffMs: 100, maxBackoffMs: 1_000, maxRetryAfterMs: 30_000 };

describe("retry policy", () => {
  it("draws a full-jitter delay under an exponentially growing, capped ceiling", () => {
    expect(backoffDelayMs(backoff, 0, () => 0)).toBe(0);
    expect(backoffDelayMs(backoff, 0, () => 0.999)).toBe(99);
    expect(backoffDelayMs(backoff, 2, () => 0.5)).toBe(200);
    expect(backoffDelayMs(backoff, 10, () => 0.999)).toBe(999);
  });

  it("waits at least what Retry-After asks", () => {
    expect(backoffDelayMs(backoff, 0, () => 0.5, 2_000)).toBe(2_000);
    expect(backoffDelayMs(backoff, 3, () => 0.9, 10)).toBe(720);
  });

  it("reads retry-after-ms, then retry-after in seconds or as a date", () => {
    expect(parseRetryAfterMs({ "retry-after-ms": "250", "retry-after": "9" })).toBe(250);
    expect(parseRetryAfterMs({ "retry-after": "2" })).toBe(2_000);
    expect(parseRetryAfterMs({ "retry-after": "0.5" })).toBe(500);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfterMs({ "retry-after": "Thu, 01 Jan 2026 00:00:03 GMT" }, () => now)).toBe(3_000);
    expect(parseRetryAfterMs({ "retry-after": "soon" })).toBeUndefined();
    expect(parseRetryAfterMs({})).toBeUndefined();
  });

  it("retries what OpenAI's and Anthropic's own SDKs retry, nothing else", () => {
    expect([408, 409, 429, 500, 502, 503, 529].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 413, 422].some(isRetryableStatus)).toBe(false);
  });
});
