import { gcraAllowAt, gcraFits, gcraInterval, gcraReconcile, gcraRemaining, gcraResetMs } from "./gcra.js";
import { tighterStatus } from "./limit-status.js";
import type {
  LimitStatus,
  RateLimitDecision,
  RateLimiter,
  RateLimitLease,
  RateLimitRefusal,
  RateLimitRequest,
  RateLimits,
} from "./rate-limiter.js";
import { WINDOW_MS } from "./rate-limiter.js";

/** One tenant's or key's state: two GCRA arrival times and the requests it has in flight. */
class ScopeState {
  requestsTat = 0;
  tokensTat = 0;
  /** Every admitted, unsettled request (not only those under a concurrency limit), so a lowered limit counts them. */
  inFlight = 0;
}

export interface MemoryRateLimiterOptions {
  now?: () => number;
  /** How often idle scopes are dropped from memory. */
  sweepIntervalMs?: number;
}

/**
 * Limits for a single gateway process. A check is two Map lookups and a few multiplications; it runs
 * to completion without awaiting, so checking and charging every limit is atomic by construction.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly keys = new Map<string, ScopeState>();
  private readonly tenants = new Map<string, ScopeState>();
  private readonly now: () => number;
  private readonly sweepIntervalMs: number;
  private lastSweep = 0;

  constructor(options: MemoryRateLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sweepIntervalMs = options.sweepIntervalMs ?? WINDOW_MS;
  }

  acquire(request: RateLimitRequest): Promise<RateLimitDecision> {
    return Promise.resolve(this.check(request));
  }

  check(request: RateLimitRequest): RateLimitDecision {
    const now = this.now();
    if (now - this.lastSweep >= this.sweepIntervalMs) this.sweep(now);
    const keyState = stateOf(this.keys, request.apiKeyId);
    const tenantState = stateOf(this.tenants, request.tenantId);
    const refusal =
      refusalOf(keyState, request.key, request.tokens, now, "key", request.apiKeyId) ??
      refusalOf(tenantState, request.tenant, request.tokens, now, "tenant", request.tenantId);
    if (refusal) {
      return { allowed: false, refusal, ...statusOf(keyState, tenantState, request, now) };
    }
    charge(keyState, request.key, request.tokens, now);
    charge(tenantState, request.tenant, request.tokens, now);
    const lease = new MemoryLease(this.now, keyState, tenantState, request);
    return { allowed: true, lease, ...statusOf(keyState, tenantState, request, now) };
  }

  /** Number of tenants and keys held in memory (for tests of the sweep). */
  get size(): number {
    return this.keys.size + this.tenants.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const states of [this.keys, this.tenants]) {
      for (const [id, state] of states) {
        if (state.inFlight === 0 && state.requestsTat <= now && state.tokensTat <= now) states.delete(id);
      }
    }
  }

  async close(): Promise<void> {}
}

class MemoryLease implements RateLimitLease {
  private settled = false;

  constructor(
    private readonly now: () => number,
    private readonly keyState: ScopeState,
    private readonly tenantState: ScopeState,
    private readonly request: RateLimitRequest,
  ) {}

  settle(usedTokens: number): void {
    if (this.settled) return;
    this.settled = true;
    const now = this.now();
    reconcile(this.keyState, this.request.key, now, this.request.tokens, usedTokens);
    reconcile(this.tenantState, this.request.tenant, now, this.request.tokens, usedTokens);
    this.keyState.inFlight--;
    this.tenantState.inFlight--;
  }
}

function stateOf(states: Map<string, ScopeState>, id: string): ScopeState {
  let state = states.get(id);
  if (!state) {
    state = new ScopeState();
    states.set(id, state);
  }
  return state;
}

function refusalOf(
  state: ScopeState,
  limits: RateLimits,
  tokens: number,
  now: number,
  scope: RateLimitRefusal["scope"],
  id: string,
): RateLimitRefusal | undefined {
  if (limits.requestsPerMinute > 0) {
    const interval = gcraInterval(limits.requestsPerMinute, WINDOW_MS);
    const allowAt = gcraAllowAt(state.requestsTat, now, interval, 1, WINDOW_MS);
    if (!gcraFits(allowAt, now)) {
      return refusal(scope, id, "requests", limits.requestsPerMinute, 1, allowAt - now, false);
    }
  }
  if (limits.tokensPerMinute > 0) {
    if (tokens > limits.tokensPerMinute) {
      return refusal(scope, id, "tokens", limits.tokensPerMinute, tokens, 0, true);
    }
    const interval = gcraInterval(limits.tokensPerMinute, WINDOW_MS);
    const allowAt = gcraAllowAt(state.tokensTat, now, interval, tokens, WINDOW_MS);
    if (!gcraFits(allowAt, now)) {
      return refusal(scope, id, "tokens", limits.tokensPerMinute, tokens, allowAt - now, false);
    }
  }
  if (limits.concurrentRequests > 0 && state.inFlight >= limits.concurrentRequests) {
    // No schedule says when a slot frees up; a second is a polite first retry.
    return refusal(scope, id, "concurrency", limits.concurrentRequests, 1, 1_000, false);
  }
  return undefined;
}

function refusal(
  scope: RateLimitRefusal["scope"],
  id: string,
  dimension: RateLimitRefusal["dimension"],
  limit: number,
  requested: number,
  retryAfterMs: number,
  neverFits: boolean,
): RateLimitRefusal {
  return { scope, id, dimension, limit, requested, retryAfterMs: Math.ceil(retryAfterMs), neverFits };
}

function charge(state: ScopeState, limits: RateLimits, tokens: number, now: number): void {
  if (limits.requestsPerMinute > 0) {
    const interval = gcraInterval(limits.requestsPerMinute, WINDOW_MS);
    state.requestsTat = Math.max(state.requestsTat, now) + interval;
  }
  if (limits.tokensPerMinute > 0) {
    const interval = gcraInterval(limits.tokensPerMinute, WINDOW_MS);
    state.tokensTat = Math.max(state.tokensTat, now) + tokens * interval;
  }
  state.inFlight++;
}

function reconcile(
  state: ScopeState,
  limits: RateLimits,
  now: number,
  estimated: number,
  used: number,
): void {
  if (limits.tokensPerMinute <= 0) return;
  const interval = gcraInterval(limits.tokensPerMinute, WINDOW_MS);
  state.tokensTat = gcraReconcile(state.tokensTat, now, interval, estimated, used);
}

function statusOf(
  keyState: ScopeState,
  tenantState: ScopeState,
  request: RateLimitRequest,
  now: number,
): { requests: LimitStatus | undefined; tokens: LimitStatus | undefined } {
  return {
    requests: tighterStatus(
      status(keyState.requestsTat, request.key.requestsPerMinute, now),
      status(tenantState.requestsTat, request.tenant.requestsPerMinute, now),
    ),
    tokens: tighterStatus(
      status(keyState.tokensTat, request.key.tokensPerMinute, now),
      status(tenantState.tokensTat, request.tenant.tokensPerMinute, now),
    ),
  };
}

function status(tat: number, limit: number, now: number): LimitStatus | undefined {
  if (limit <= 0) return undefined;
  const interval = gcraInterval(limit, WINDOW_MS);
  return { limit, remaining: gcraRemaining(tat, now, interval, WINDOW_MS), resetMs: gcraResetMs(tat, now) };
}
