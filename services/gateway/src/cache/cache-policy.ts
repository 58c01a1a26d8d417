import { StrataError } from "@strata/kit";
import type { ChatCompletionRequest, CompletionRequest } from "../openai/request-schemas.js";
import type { CacheConfig, ExactMode, TenantCachePolicyOverrides } from "./cache-config.js";
import { type CacheDirectives, cacheHeaders } from "./cache-directives.js";

/** What the caches do for one request: look up and store, only store (refresh), or nothing. */
export type CacheAction = "lookup" | "store" | "skip";

export interface CachePlan {
  exact: CacheAction;
  semantic: CacheAction;
  exactTtlMs: number;
  semanticTtlMs: number;
  threshold: number;
}

type AnyRequest = ChatCompletionRequest | CompletionRequest;

/**
 * A request is deterministic — its answer worth replaying without being asked — when it asks for one
 * answer (n and best_of absent or 1) and either samples greedily (temperature 0) or fixes the
 * sampler's seed. Absent temperature means the provider's default (1 for OpenAI), so it does not count.
 */
export function isDeterministic(request: AnyRequest): boolean {
  if ((request.n ?? 1) !== 1 || ((request as CompletionRequest).best_of ?? 1) !== 1) return false;
  return request.temperature === 0 || (request.seed !== undefined && request.seed !== null);
}

/**
 * Requests no cache serves: token log-probabilities cannot be replayed faithfully chunk by chunk from
 * a stored answer, so a request that asks for them always goes upstream.
 */
export function isCacheable(request: AnyRequest): boolean {
  const logprobs = (request as { logprobs?: unknown }).logprobs;
  return (
    (logprobs === undefined || logprobs === null || logprobs === false) &&
    !(request as ChatCompletionRequest).top_logprobs
  );
}

/** Decides, per request, from its headers, its tenant's settings and the gateway defaults. */
export class CachePolicies {
  private readonly resolved = new Map<string, ResolvedTenant>();
  private readonly defaults: ResolvedTenant;

  constructor(
    private readonly config: CacheConfig,
    /** False when the gateway runs without a semantic cache (disabled, or no index). */
    private readonly semanticAvailable: boolean,
  ) {
    this.defaults = resolve(config, undefined);
  }

  /** The plan for a request, or undefined when neither cache applies (x-strata-cache: bypass). */
  plan(
    request: AnyRequest,
    tenantId: string,
    directives: CacheDirectives | undefined,
  ): CachePlan | undefined {
    const ttlSeconds = directives?.ttlSeconds;
    if (ttlSeconds !== undefined && ttlSeconds > this.config.exact.maxTtlSeconds)
      throw new StrataError(
        "invalid_request",
        `The ${cacheHeaders.ttl} header may be at most ${this.config.exact.maxTtlSeconds} seconds; got ${ttlSeconds}.`,
      );
    if (directives?.mode === "off" || !isCacheable(request)) return undefined;
    const tenant = this.tenant(tenantId);
    const exact = this.exactAction(request, tenant.exact, directives);
    const semantic = this.semanticAction(request, tenant.semantic, directives);
    if (exact === "skip" && semantic === "skip") return undefined;
    return {
      exact,
      semantic,
      exactTtlMs: (ttlSeconds ?? tenant.exactTtlSeconds) * 1000,
      semanticTtlMs: (ttlSeconds ?? tenant.semanticTtlSeconds) * 1000,
      threshold: directives?.semanticThreshold ?? tenant.threshold,
    };
  }

  private exactAction(
    request: AnyRequest,
    mode: ExactMode,
    directives: CacheDirectives | undefined,
  ): CacheAction {
    if (directives?.mode === "refresh") return "store";
    if (directives?.mode === "on") return "lookup";
    if (mode === "always") return "lookup";
    if (mode === "deterministic" && isDeterministic(request)) return "lookup";
    return "skip";
  }

  private semanticAction(
    request: AnyRequest,
    tenantOptedIn: boolean,
    directives: CacheDirectives | undefined,
  ): CacheAction {
    if (!this.semanticAvailable || directives?.semantic === "off") return "skip";
    if (!(directives?.semantic === "on" || tenantOptedIn)) return "skip";
    // One question, one answer: a request for several samples is not a question to match.
    if ((request.n ?? 1) !== 1) return "skip";
    return directives?.mode === "refresh" ? "store" : "lookup";
  }

  /** Tenants with settings of their own are resolved once; every other tenant shares the defaults. */
  private tenant(tenantId: string): ResolvedTenant {
    const overrides = Object.hasOwn(this.config.tenants, tenantId)
      ? this.config.tenants[tenantId]
      : undefined;
    if (!overrides) return this.defaults;
    let resolved = this.resolved.get(tenantId);
    if (!resolved) {
      resolved = resolve(this.config, overrides);
      this.resolved.set(tenantId, resolved);
    }
    return resolved;
  }
}

interface ResolvedTenant {
  exact: ExactMode;
  semantic: boolean;
  exactTtlSeconds: number;
  semanticTtlSeconds: number;
  threshold: number;
}

function resolve(config: CacheConfig, overrides: TenantCachePolicyOverrides | undefined): ResolvedTenant {
  return {
    exact: overrides?.exact ?? config.exact.mode,
    semantic: overrides?.semantic ?? false,
    exactTtlSeconds: overrides?.ttlSeconds ?? config.exact.ttlSeconds,
    semanticTtlSeconds: overrides?.ttlSeconds ?? config.semantic.ttlSeconds,
    threshold: overrides?.semanticThreshold ?? config.semantic.threshold,
  };
}
