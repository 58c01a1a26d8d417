import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  RateLimitDecision,
  RateLimiter,
  RateLimitRequest,
  RateLimits,
} from "../../src/ratelimit/rate-limiter.js";

/** A limiter under test, on a clock the test moves. */
export interface LimiterUnderTest {
  limiter: RateLimiter;
  /** Waits until settlements issued so far have taken effect (Redis applies them asynchronously). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export type LimiterFactory = (now: () => number) => Promise<LimiterUnderTest>;

const none: RateLimits = { requestsPerMinute: 0, tokensPerMinute: 0, concurrentRequests: 0 };
const limits = (partial: Partial<RateLimits>): RateLimits => ({ ...none, ...partial });

let sequence = 0;
const unique = (name: string) => `${name}_${process.pid}_${Date.now().toString(36)}_${++sequence}`;

function allowed(decision: RateLimitDecision) {
  if (!decision.allowed)
    throw new Error(`expected admission, got refusal ${JSON.stringify(decision.refusal)}`);
  return decision;
}
function refused(decision: RateLimitDecision) {
  if (decision.allowed) throw new Error("expected a refusal, got admission");
  return decision;
}

/**
 * The behaviour every RateLimiter implementation must have, run against each of them (in-process and
 * Redis) so they cannot drift apart.
 */
export function rateLimiterContract(name: string, factory: LimiterFactory): void {
  describe(`${name} (rate limiter contract)`, () => {
    let clock = Date.UTC(2025, 4, 1, 12, 0, 0);
    let subject: LimiterUnderTest;
    beforeAll(async () => {
      subject = await factory(() => clock);
    });
    afterAll(async () => {
      await subject?.close();
    });

    function request(overrides: Partial<RateLimitRequest>): RateLimitRequest {
      return {
        tenantId: unique("ten"),
        apiKeyId: unique("key"),
        tenant: none,
        key: none,
        tokens: 10,
        requestId: unique("req"),
        ...overrides,
      };
    }
    /** Same tenant and key, a new request id. */
    const again = (base: RateLimitRequest, overrides: Partial<RateLimitRequest> = {}) => ({
      ...base,
      requestId: unique("req"),
      ...overrides,
    });
    const acquire = (input: RateLimitRequest) => subject.limiter.acquire(input);

    it("admits a key's requests per minute, then refuses with the time until the next fits", async () => {
      const base = request({ key: limits({ requestsPerMinute: 3 }) });
      const remaining = [];
      for (let index = 0; index < 3; index++)
        remaining.push(allowed(await acquire(again(base))).requests?.remaining);
      expect(remaining).toEqual([2, 1, 0]);
      const refusal = refused(await acquire(again(base))).refusal;
      expect(refusal).toMatchObject({
        scope: "key",
        id: base.apiKeyId,
        dimension: "requests",
        limit: 3,
        neverFits: false,
      });
      expect(refusal.retryAfterMs).toBe(20_000);
      clock += 20_000;
      expect(allowed(await acquire(again(base))).requests).toMatchObject({ limit: 3, remaining: 0 });
    });

    it("gives the allowance back gradually, not at a window edge", async () => {
      const base = request({ key: limits({ requestsPerMinute: 10 }) });
      for (let index = 0; index < 10; index++) allowed(await acquire(again(base)));
      refused(await acquire(again(base)));
      clock += 30_000;
      for (let index = 0; index < 5; index++) allowed(await acquire(again(base)));
      refused(await acquire(again(base)));
    });

    it("reports when the allowance is full again", async () => {
      const base = request({ key: limits({ requestsPerMinute: 60, tokensPerMinute: 6_000 }), tokens: 500 });
      const decision = allowed(await acquire(again(base)));
      expect(decision.requests).toEqual({ limit: 60, remaining: 59, resetMs: 1_000 });
      expect(decision.tokens).toEqual({ limit: 6_000, remaining: 5_500, resetMs: 5_000 });
    });

    it("charges the token estimate, then reconciles it with the tokens really used", async () => {
      const base = request({ key: limits({ tokensPerMinute: 1_000 }), tokens: 600 });
      const first = allowed(await acquire(again(base)));
      expect(first.tokens).toMatchObject({ limit: 1_000, remaining: 400 });
      const second = refused(await acquire(again(base)));
      expect(second.refusal).toMatchObject({ dimension: "tokens", requested: 600, retryAfterMs: 12_000 });
      first.lease.settle(100); // 500 tokens come back
      await subject.flush();
      expect(allowed(await acquire(again(base))).tokens?.remaining).toBe(300);
    });

    it("charges use beyond the estimate", async () => {
      const base = request({ key: limits({ tokensPerMinute: 1_000 }), tokens: 100 });
      allowed(await acquire(again(base))).lease.settle(900);
      await subject.flush();
      const refusal = refused(await acquire(again(base, { tokens: 200 }))).refusal;
      expect(refusal).toMatchObject({ dimension: "tokens", neverFits: false });
      expect(allowed(await acquire(again(base, { tokens: 100 }))).tokens?.remaining).toBe(0);
    });

    it("refuses a request larger than the whole token limit as one that never fits", async () => {
      const base = request({ tenant: limits({ tokensPerMinute: 1_000 }), tokens: 1_500 });
      expect(refused(await acquire(base)).refusal).toMatchObject({
        scope: "tenant",
        dimension: "tokens",
        limit: 1_000,
        requested: 1_500,
        neverFits: true,
      });
      allowed(await acquire(again(base, { tokens: 1_000 })));
    });

    it("holds a concurrency slot until the request settles", async () => {
      const base = request({ key: limits({ concurrentRequests: 2 }) });
      const first = allowed(await acquire(again(base)));
      allowed(await acquire(again(base)));
      expect(refused(await acquire(again(base))).refusal).toMatchObject({
        scope: "key",
        dimension: "concurrency",
        limit: 2,
        retryAfterMs: 1_000,
      });
      first.lease.settle(0);
      first.lease.settle(0); // settling twice frees one slot, not two
      await subject.flush();
      allowed(await acquire(again(base)));
      refused(await acquire(again(base)));
    });

    it("shares a tenant's limit among its keys and names the tenant when it refuses", async () => {
      const tenantId = unique("ten");
      const tenant = limits({ requestsPerMinute: 2 });
      allowed(await acquire(request({ tenantId, tenant })));
      allowed(await acquire(request({ tenantId, tenant })));
      expect(refused(await acquire(request({ tenantId, tenant }))).refusal).toMatchObject({
        scope: "tenant",
        id: tenantId,
        dimension: "requests",
      });
    });

    it("charges every limit or none: a refusal by the tenant leaves the key's allowance untouched", async () => {
      const base = request({
        key: limits({ requestsPerMinute: 5 }),
        tenant: limits({ tokensPerMinute: 100 }),
      });
      expect(allowed(await acquire(again(base, { tokens: 50 }))).requests).toMatchObject({ remaining: 4 });
      expect(refused(await acquire(again(base, { tokens: 80 }))).refusal).toMatchObject({
        scope: "tenant",
        dimension: "tokens",
      });
      // Had the refused request been charged to the key, 2 would be left here, not 3.
      expect(allowed(await acquire(again(base, { tokens: 50 }))).requests).toMatchObject({ remaining: 3 });
    });

    it("tells the client the tighter limit", async () => {
      const base = request({
        key: limits({ requestsPerMinute: 5 }),
        tenant: limits({ requestsPerMinute: 2 }),
      });
      expect(allowed(await acquire(again(base))).requests).toMatchObject({ limit: 2, remaining: 1 });
    });

    it("reports the tighter of the key's and the tenant's allowance", async () => {
      const decision = allowed(
        await acquire(
          request({
            key: limits({ requestsPerMinute: 10, tokensPerMinute: 100_000 }),
            tenant: limits({ requestsPerMinute: 100, tokensPerMinute: 1_000 }),
            tokens: 100,
          }),
        ),
      );
      expect(decision.requests).toMatchObject({ limit: 10, remaining: 9 });
      expect(decision.tokens).toMatchObject({ limit: 1_000, remaining: 900 });
    });

    it("admits everything, reporting nothing, when no limit applies", async () => {
      const base = request({ tokens: 1_000_000 });
      for (let index = 0; index < 20; index++) {
        const decision = allowed(await acquire(again(base)));
        expect(decision.requests).toBeUndefined();
        expect(decision.tokens).toBeUndefined();
      }
    });
  });
}
