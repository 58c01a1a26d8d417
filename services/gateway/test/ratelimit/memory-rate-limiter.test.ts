import { describe, expect, it } from "vitest";
import { MemoryRateLimiter } from "../../src/ratelimit/memory-rate-limiter.js";
import { rateLimiterContract } from "./rate-limiter-contract.js";

rateLimiterContract("in-process limiter", async (now) => {
  const limiter = new MemoryRateLimiter({ now });
  return { limiter, flush: async () => {}, close: () => limiter.close() };
});

describe("the in-process limiter", () => {
  const none = { requestsPerMinute: 0, tokensPerMinute: 0, concurrentRequests: 0 };

  it("forgets idle tenants and keys, but never one with a request in flight", () => {
    let clock = 1_000_000;
    const limiter = new MemoryRateLimiter({ now: () => clock, sweepIntervalMs: 60_000 });
    const request = (id: string, concurrentRequests: number) => ({
      tenantId: `ten_${id}`,
      apiKeyId: `key_${id}`,
      tenant: none,
      key: { ...none, requestsPerMinute: 10, concurrentRequests },
      tokens: 1,
      requestId: `req_${id}`,
    });
    const idle = limiter.check(request("idle", 0));
    const busy = limiter.check(request("busy", 5));
    if (!idle.allowed || !busy.allowed) throw new Error("expected admissions");
    idle.lease.settle(1);
    expect(limiter.size).toBe(4);
    clock += 61_000;
    const other = limiter.check(request("other", 0)); // a check runs the sweep
    if (!other.allowed) throw new Error("expected admission");
    other.lease.settle(1);
    // "idle" is gone; "busy" (in flight) and "other" (just used) stay.
    expect(limiter.size).toBe(4);
    busy.lease.settle(1);
    clock += 61_000;
    limiter.check(request("last", 0));
    expect(limiter.size).toBe(2);
  });
});
