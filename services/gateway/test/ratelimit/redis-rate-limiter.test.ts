import { Counter, Registry, StrataError, silentLogger } from "@strata/kit";
import { eventually, type RedisServerHandle, startRedisServer } from "@strata/kit/testing";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendErrorReporter } from "../../src/ratelimit/backend-errors.js";
import type { RateLimitDecision, RateLimitRequest } from "../../src/ratelimit/rate-limiter.js";
import { type RedisOnError, RedisRateLimiter } from "../../src/ratelimit/redis-rate-limiter.js";
import { connectRedis } from "../../src/redis/redis-client.js";
import { rateLimiterContract } from "./rate-limiter-contract.js";

let server: RedisServerHandle;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.stop();
});

async function client(): Promise<Redis> {
  const redis = await connectRedis({ url: server.url, commandTimeoutMs: 1_000, logger: silentLogger() });
  clients.push(redis);
  return redis;
}

function errorsCounter() {
  const registry = new Registry();
  const counter = new Counter({
    name: "strata_gateway_ratelimit_backend_errors_total",
    help: "test",
    labelNames: ["operation"],
    registers: [registry],
  });
  const errors = new BackendErrorReporter({ counter, logger: silentLogger() });
  const count = async () => (await counter.get()).values.reduce((sum, value) => sum + value.value, 0);
  return { errors, count };
}

async function limiter(options: {
  now?: () => number;
  onError?: RedisOnError;
  leaseTtlMs?: number;
  redis?: Redis;
  errors?: BackendErrorReporter;
}) {
  return new RedisRateLimiter({
    redis: options.redis ?? (await client()),
    keyPrefix: "test:",
    onError: options.onError ?? "serve",
    leaseTtlMs: options.leaseTtlMs ?? 60_000,
    errors: options.errors ?? errorsCounter().errors,
    ...(options.now ? { now: options.now } : {}),
  });
}

rateLimiterContract("Redis limiter", async (now) => {
  const subject = await limiter({ now });
  return { limiter: subject, flush: () => subject.flush(), close: () => subject.close() };
});

let sequence = 0;
const none = { requestsPerMinute: 0, tokensPerMinute: 0, concurrentRequests: 0 };
function request(name: string, overrides: Partial<RateLimitRequest> = {}): RateLimitRequest {
  const id = `${name}_${Date.now().toString(36)}_${++sequence}`;
  return {
    tenantId: `ten_${id}`,
    apiKeyId: `key_${id}`,
    tenant: none,
    key: none,
    tokens: 1,
    requestId: `req_${id}`,
    ...overrides,
  };
}
const next = (base: RateLimitRequest) => ({
  ...base,
  requestId: `req_${Date.now().toString(36)}_${++sequence}`,
});
function lease(decision: RateLimitDecision) {
  if (!decision.allowed) throw new Error(`refused: ${JSON.stringify(decision.refusal)}`);
  return decision.lease;
}

describe("the Redis limiter", () => {
  it("shares its limits between gateways using the same Redis", async () => {
    const first = await limiter({});
    const second = await limiter({});
    const base = request("shared", { key: { ...none, requestsPerMinute: 4 } });
    const outcomes = [];
    for (let index = 0; index < 6; index++) {
      outcomes.push((await (index % 2 ? second : first).acquire(next(base))).allowed);
    }
    expect(outcomes).toEqual([true, true, true, true, false, false]);
    await Promise.all([first.close(), second.close()]);
  });

  it("frees a crashed gateway's concurrency slots after the lease TTL", async () => {
    let clock = Date.now();
    const crashed = await limiter({ now: () => clock, leaseTtlMs: 5_000 });
    const survivor = await limiter({ now: () => clock, leaseTtlMs: 5_000 });
    const base = request("crash", { tenant: { ...none, concurrentRequests: 1 } });
    lease(await crashed.acquire(next(base)));
    await crashed.close(); // never settles: as if the process died mid-request
    expect((await survivor.acquire(next(base))).allowed).toBe(false);
    clock += 5_001;
    lease(await survivor.acquire(next(base))).settle(0);
    await survivor.close();
  });

  it("renews the leases of requests still running, so long ones keep their slot", async () => {
    const holder = await limiter({ leaseTtlMs: 1_000 });
    const other = await limiter({ leaseTtlMs: 1_000 });
    const base = request("renew", { key: { ...none, concurrentRequests: 1 } });
    const held = lease(await holder.acquire(next(base)));
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // 2.5 lease TTLs of real time
    expect((await other.acquire(next(base))).allowed).toBe(false);
    held.settle(0);
    await holder.flush();
    lease(await other.acquire(next(base))).settle(0);
    await Promise.all([holder.close(), other.close()]);
  });

  it("loads its script again when Redis forgot it (NOSCRIPT)", async () => {
    const redis = await client();
    const subject = await limiter({ redis });
    const base = request("noscript", { key: { ...none, requestsPerMinute: 2 } });
    lease(await subject.acquire(next(base)));
    await redis.script("FLUSH");
    lease(await subject.acquire(next(base)));
    expect((await subject.acquire(next(base))).allowed).toBe(false);
    await subject.close();
  });
});

describe("the Redis limiter while Redis is down", () => {
  it("serves without limits when configured to, counting each failure, and limits again once Redis is back", async () => {
    const redis = await client();
    const { errors, count } = errorsCounter();
    const serve = await limiter({ redis, onError: "serve", errors });
    const refuse = await limiter({ redis, onError: "refuse", errors });
    const base = request("down", { key: { ...none, requestsPerMinute: 1 } });
    lease(await serve.acquire(next(base)));
    expect((await serve.acquire(next(base))).allowed).toBe(false);

    await server.kill();
    const served = await serve.acquire(next(base));
    expect(served).toMatchObject({ allowed: true, requests: undefined, tokens: undefined });
    const refusal = await refuse.acquire(next(base)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(StrataError);
    expect(refusal).toMatchObject({ code: "unavailable", httpStatus: 503, retryAfterSeconds: 1 });
    expect(await count()).toBe(2);

    await server.start();
    // Redis restarted empty (no persistence): the key's minute begins again, and is enforced again.
    await eventually(async () => expect((await refuse.acquire(next(base))).allowed).toBe(true), {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect((await serve.acquire(next(base))).allowed).toBe(false);
    await Promise.all([serve.close(), refuse.close()]);
  });
});
