import { StrataError } from "@strata/kit";
import type { Redis } from "ioredis";
import type { BackendErrorReporter } from "./backend-errors.js";
import { tighterStatus } from "./limit-status.js";
import type {
  LimitStatus,
  RateLimitDecision,
  RateLimiter,
  RateLimitLease,
  RateLimitRefusal,
  RateLimitRequest,
} from "./rate-limiter.js";
import { noLease, WINDOW_MS } from "./rate-limiter.js";
import { acquireScript, renewScript, settleScript } from "./redis-scripts.js";

export type RedisOnError = "serve" | "refuse";

export interface RedisRateLimiterOptions {
  redis: Pick<Redis, "evalsha" | "eval">;
  /** Prefix of every key this limiter writes, so several deployments can share one Redis. */
  keyPrefix: string;
  /** What a request gets when Redis cannot be asked: served unlimited, or refused with 503. */
  onError: RedisOnError;
  /** A crashed gateway's concurrency slots free themselves after this long. */
  leaseTtlMs: number;
  errors: Pick<BackendErrorReporter, "report">;
  now?: () => number;
}

const dimensionOfIndex = ["requests", "tokens", "concurrency"] as const;

/**
 * Limits shared by every gateway replica through Redis. One Lua script per request checks and charges
 * every limit of its key and tenant atomically on the server; all keys of a request carry the tenant
 * as hash tag, so they live in one slot and the script also runs on Redis Cluster.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly now: () => number;
  /** Leases holding concurrency slots, renewed until settled. */
  private readonly leases = new Set<RedisLease>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly renewTimer: NodeJS.Timeout;

  constructor(private readonly options: RedisRateLimiterOptions) {
    this.now = options.now ?? Date.now;
    this.renewTimer = setInterval(() => void this.renew(), Math.max(1, Math.floor(options.leaseTtlMs / 3)));
    this.renewTimer.unref();
  }

  async acquire(request: RateLimitRequest): Promise<RateLimitDecision> {
    const keys = this.keysOf(request);
    const now = this.now();
    const { key, tenant } = request;
    let reply: number[];
    try {
      reply = (await acquireScript.run(this.options.redis, keys, [
        now,
        WINDOW_MS,
        request.tokens,
        request.requestId,
        now + this.options.leaseTtlMs,
        this.options.leaseTtlMs * 2,
        key.requestsPerMinute,
        key.tokensPerMinute,
        key.concurrentRequests,
        tenant.requestsPerMinute,
        tenant.tokensPerMinute,
        tenant.concurrentRequests,
      ])) as number[];
    } catch (error) {
      return this.unavailable("acquire", error);
    }
    const requests = tighterStatus(
      status(key.requestsPerMinute, reply[4]!, reply[5]!),
      status(tenant.requestsPerMinute, reply[8]!, reply[9]!),
    );
    const tokens = tighterStatus(
      status(key.tokensPerMinute, reply[6]!, reply[7]!),
      status(tenant.tokensPerMinute, reply[10]!, reply[11]!),
    );
    if (reply[0] !== 1) return { allowed: false, requests, tokens, refusal: refusalOf(request, reply) };
    const lease = new RedisLease(this, request, keys);
    if (key.concurrentRequests > 0 || tenant.concurrentRequests > 0) this.leases.add(lease);
    return { allowed: true, requests, tokens, lease };
  }

  /** Runs a settlement; failures are counted and left to the lease TTL to clean up. */
  settle(lease: RedisLease, request: RateLimitRequest, keys: string[], usedTokens: number): void {
    this.leases.delete(lease);
    const { key, tenant } = request;
    const settling = settleScript
      .run(
        this.options.redis,
        [keys[1]!, keys[4]!, keys[2]!, keys[5]!],
        [
          this.now(),
          WINDOW_MS,
          request.tokens,
          usedTokens,
          request.requestId,
          key.tokensPerMinute,
          tenant.tokensPerMinute,
          key.concurrentRequests,
          tenant.concurrentRequests,
        ],
      )
      .catch((error: unknown) => this.options.errors.report("settle", error, "left to the lease TTL"));
    this.track(settling);
  }

  private async renew(): Promise<void> {
    if (this.leases.size === 0) return;
    const byTag = new Map<string, { keys: string[]; members: string[] }>();
    for (const lease of this.leases) {
      for (const [limit, key] of lease.concurrencyKeys()) {
        if (limit <= 0) continue;
        const tag = key.slice(0, key.indexOf("}") + 1);
        let group = byTag.get(tag);
        if (!group) {
          group = { keys: [], members: [] };
          byTag.set(tag, group);
        }
        group.keys.push(key);
        group.members.push(lease.member);
      }
    }
    const expiry = this.now() + this.options.leaseTtlMs;
    const renewing = Promise.all(
      [...byTag.values()].map((group) =>
        renewScript.run(this.options.redis, group.keys, [
          expiry,
          this.options.leaseTtlMs * 2,
          ...group.members,
        ]),
      ),
    ).catch((error: unknown) => this.options.errors.report("renew", error, "leases may expire early"));
    this.track(renewing);
    await renewing;
  }

  private unavailable(operation: string, error: unknown): RateLimitDecision {
    if (this.options.onError === "serve") {
      this.options.errors.report(operation, error, "served without limits");
      return { allowed: true, requests: undefined, tokens: undefined, lease: noLease };
    }
    this.options.errors.report(operation, error, "refused");
    throw new StrataError(
      "unavailable",
      "Rate limits cannot be checked right now (the rate-limit store is unreachable). Please try again shortly.",
      { cause: error, retryAfterSeconds: 1 },
    );
  }

  private keysOf(request: RateLimitRequest): string[] {
    // The tenant in braces is the hash tag: every key of one request maps to the same cluster slot.
    const tenant = `${this.options.keyPrefix}rl:{${request.tenantId}}`;
    const key = `${tenant}:key:${request.apiKeyId}`;
    return [`${key}:rpm`, `${key}:tpm`, `${key}:conc`, `${tenant}:rpm`, `${tenant}:tpm`, `${tenant}:conc`];
  }

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
  }

  /** Waits for settlements in flight (tests, graceful shutdown). */
  async flush(): Promise<void> {
    await Promise.all(this.pending);
  }

  async close(): Promise<void> {
    clearInterval(this.renewTimer);
    await this.flush();
  }
}

class RedisLease implements RateLimitLease {
  private settled = false;

  constructor(
    private readonly limiter: RedisRateLimiter,
    private readonly request: RateLimitRequest,
    private readonly keys: string[],
  ) {}

  get member(): string {
    return this.request.requestId;
  }

  concurrencyKeys(): [number, string][] {
    return [
      [this.request.key.concurrentRequests, this.keys[2]!],
      [this.request.tenant.concurrentRequests, this.keys[5]!],
    ];
  }

  settle(usedTokens: number): void {
    if (this.settled) return;
    this.settled = true;
    this.limiter.settle(this, this.request, this.keys, usedTokens);
  }
}

function status(limit: number, remaining: number, resetMs: number): LimitStatus | undefined {
  return limit > 0 && remaining >= 0 ? { limit, remaining, resetMs } : undefined;
}

function refusalOf(request: RateLimitRequest, reply: number[]): RateLimitRefusal {
  const index = reply[1]! - 1;
  const scope = index < 3 ? "key" : "tenant";
  const dimension = dimensionOfIndex[index % 3]!;
  const limits = scope === "key" ? request.key : request.tenant;
  const limit =
    dimension === "requests"
      ? limits.requestsPerMinute
      : dimension === "tokens"
        ? limits.tokensPerMinute
        : limits.concurrentRequests;
  return {
    scope,
    id: scope === "key" ? request.apiKeyId : request.tenantId,
    dimension,
    limit,
    requested: dimension === "tokens" ? request.tokens : 1,
    retryAfterMs: reply[2]!,
    neverFits: reply[3] === 1,
  };
}
