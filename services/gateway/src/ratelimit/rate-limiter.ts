import type { LimitScope } from "../limits/limit-settings.js";

/** Rate limits of one scope; 0 means no limit on that dimension. */
export interface RateLimits {
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
  readonly concurrentRequests: number;
}

export type LimitDimension = "requests" | "tokens" | "concurrency";

/** Everything one admission check needs: both scopes' limits are checked, and charged, together. */
export interface RateLimitRequest {
  tenantId: string;
  apiKeyId: string;
  tenant: RateLimits;
  key: RateLimits;
  /** Tokens the request may use: the prompt estimate plus the completion it may produce. */
  tokens: number;
  /** Unique per request; names its concurrency lease. */
  requestId: string;
}

/** What the x-ratelimit-* headers report for one dimension (the tighter of key and tenant). */
export interface LimitStatus {
  limit: number;
  remaining: number;
  /** Until the limit is back to its full allowance. */
  resetMs: number;
}

export interface RateLimitRefusal {
  scope: LimitScope;
  /** The tenant or key id whose limit refused. */
  id: string;
  dimension: LimitDimension;
  limit: number;
  /** Units the request asked for (1 request, its token estimate, 1 slot). */
  requested: number;
  retryAfterMs: number;
  /** The request alone needs more than the limit allows in a whole minute: waiting will not help. */
  neverFits: boolean;
}

/** Held by an admitted request until it ends. */
export interface RateLimitLease {
  /** Charges the tokens really used instead of the estimate and frees the concurrency slot. Idempotent. */
  settle(usedTokens: number): void;
}

export type RateLimitDecision =
  | {
      allowed: true;
      requests: LimitStatus | undefined;
      tokens: LimitStatus | undefined;
      lease: RateLimitLease;
    }
  | {
      allowed: false;
      requests: LimitStatus | undefined;
      tokens: LimitStatus | undefined;
      refusal: RateLimitRefusal;
    };

/**
 * Admits or refuses a request against every limit of its key and tenant at once: either all of them
 * are charged or none is. Two implementations keep the same contract: in-process and Redis.
 */
export interface RateLimiter {
  acquire(request: RateLimitRequest): Promise<RateLimitDecision>;
  close(): Promise<void>;
}

export const noLease: RateLimitLease = { settle() {} };

/** The window every per-minute limit is measured over. */
export const WINDOW_MS = 60_000;
