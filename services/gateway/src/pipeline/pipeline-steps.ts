/**
 * The steps a completion passes through, each behind one narrow interface, in this order:
 *
 *   authorize → admit → cache lookup → dispatch → cache store → settle → record usage
 *
 * `authenticate` happens in the HTTP and gRPC faces (the key is needed before the body is read);
 * dispatch lives in providers/; recording usage in usage/. The defaults below let every request
 * through unchanged, so a step is plugged in by giving its implementation to the pipeline in
 * index.ts and nothing else moves.
 */
import type { gatewayEventsV1 } from "@strata/proto";
import type { CompletionCall } from "./completion-call.js";
import type { UsageCounts } from "./usage-counts.js";

/**
 * UsageEvent fields a step contributes (cost, cache status, key metadata...). Steps set the fields of
 * their own range in events.proto; the pipeline fills in the rest and publishes one event per request.
 */
export type UsageFields = Partial<Omit<gatewayEventsV1.UsageEvent, "$typeName" | "$unknown">>;

/** How a request ended, as settle() and the cache see it. */
export interface RequestOutcome {
  /** HTTP-style status the client saw (200, 4xx relayed, 499 client closed, 5xx). */
  status: number;
  /** Tokens as the upstream (or the cache) reported them; zero when it failed before an answer. */
  usage: UsageCounts;
  /** The model that produced the answer (after aliases and fallbacks); "" when none did. */
  servedModel: string;
  /** The provider that produced it ("engine" or a configured provider's name); "" when none did. */
  provider: string;
  /** Set when the request failed. */
  errorCode?: string;
}

/**
 * A request as authorize and admit see it: a completion, or an embeddings request, which passes the
 * same key, limit and budget checks (its tokens are its inputs; it produces no completion).
 */
export type MeteredCall = Pick<CompletionCall, "auth" | "requestId" | "headers"> &
  (
    | Pick<CompletionCall, "operation" | "request">
    | { operation: "embeddings"; request: { model: string; inputs: readonly string[] } }
  );

/** authorize: may this caller use this model? Throws a StrataError (e.g. permission_denied) if not. */
export interface Authorizer {
  authorize(call: MeteredCall): void | Promise<void>;
}

/**
 * admit: rate limits and budgets. Throws (rate_limit_exceeded with retryAfterSeconds, budget errors)
 * to refuse; may add response headers to `call.headers` (x-ratelimit-*) either way.
 */
export interface Admitter {
  admit(call: MeteredCall, usage: UsageFields): Promise<Admission>;
}

/** A request let in: settle() runs exactly once when it ends, whatever the outcome. */
export interface Admission {
  /** Reconciles the estimate with real usage and releases concurrency; may add UsageEvent fields. */
  settle(outcome: RequestOutcome, usage: UsageFields): void;
}

/** A complete answer, as the cache stores it and as a hit gives it back. */
export type CachedAnswer =
  | { kind: "json"; body: Buffer; usage: UsageCounts }
  /** The SSE data payloads in order, "[DONE]" last. */
  | { kind: "stream"; events: readonly string[]; usage: UsageCounts };

export interface CacheHit {
  /** Sent as x-strata-cache by the cache itself; kept here for usage and metrics. */
  status: "hit" | "semantic-hit";
  /** In the shape the request asked for: JSON for a plain request, SSE payloads for a stream. */
  answer: CachedAnswer;
  /** The model whose answer was cached. */
  servedModel: string;
}

/** cache lookup and store (exact, then semantic). A hit ends the request at once. */
export interface ResponseCache {
  lookup(call: CompletionCall, usage: UsageFields): Promise<CacheHit | undefined>;
  /**
   * Whether store() wants this request's answer: streams are buffered for the cache only then, so
   * requests the cache will never keep cost nothing.
   */
  wantsStore(call: CompletionCall): boolean;
  /** Called once per successful (200) upstream answer that wantsStore() asked for. */
  store(call: CompletionCall, answer: CachedAnswer): void;
}

export const allowAll: Authorizer = { authorize: () => undefined };

const nothingToSettle: Admission = { settle: () => undefined };
export const admitAll: Admitter = { admit: async () => nothingToSettle };

export const noCache: ResponseCache = {
  lookup: async () => undefined,
  wantsStore: () => false,
  store: () => undefined,
};
