/**
 * One interface for every upstream: self-hosted engines chosen by the router, OpenAI-compatible
 * servers, TGI's native API and Anthropic's Messages API. Providers speak OpenAI's shapes to the
 * gateway whatever they speak upstream, so everything after dispatch is the same for all of them.
 */
import type { ChatCompletionRequest, CompletionRequest, Operation } from "../openai/request-schemas.js";
import type { UsageCounts } from "../pipeline/usage-counts.js";

export type ProviderKind = "engine" | "openai" | "tgi" | "anthropic";

/** What a provider needs to place one attempt. */
export interface ProviderRequest {
  operation: Operation;
  /** The client's body as validated; providers send a copy (model replaced, translated if need be). */
  body: ChatCompletionRequest | CompletionRequest;
  /** The model to ask this provider for (the chain entry's model). */
  model: string;
  /** Unique per attempt, so the router's in-flight bookkeeping never mixes two attempts. */
  attemptId: string;
  /** The client's request id, sent upstream as x-request-id. */
  requestId: string;
  tenantId: string;
  /** The request's signal (client gone or deadline passed). */
  signal: AbortSignal;
}

/**
 * An upstream's answer once it has begun, in OpenAI's shapes: a complete body (a 2xx answer or an
 * OpenAI-style error body with the upstream's status), or a stream of SSE data payloads ending
 * "[DONE]". Providers never throw for an HTTP status; they throw for transport failures.
 */
export type UpstreamAnswer =
  | {
      kind: "json";
      status: number;
      body: Buffer;
      /** Parsed Retry-After (or the provider's own reset header), in milliseconds. */
      retryAfterMs?: number | undefined;
    }
  | { kind: "stream"; events: AsyncIterable<string> };

/** How an attempt ended, for the upstream's bookkeeping (the router's Report). */
export interface AttemptEnd {
  result: "success" | "upstream-error" | "connect-error" | "timeout" | "cancelled";
  usage: UsageCounts;
  timeToFirstTokenMs: number;
  latencyMs: number;
}

/** One attempt, placed (routed) but not yet sent. */
export interface PreparedAttempt {
  provider: string;
  kind: ProviderKind;
  /** The model the upstream serves the request as. */
  servedModel: string;
  /** Engine replica id, or the provider name for hosted providers. */
  endpointId: string;
  /** Where the attempt goes, for logs and errors (a base URL). */
  address: string;
  /** The circuit breaker's key: one per engine replica, one per hosted provider. */
  breakerKey: string;
  /** Short form for x-strata-route, e.g. `endpoint=sim-0; model=m; strategy=kv-aware`. */
  route: string;
  /** Models to try next when this one fails (the router's fallback chain for engine models). */
  fallbacks: readonly string[];
  /** Limit for the answer to begin: the whole body, or the first event of a stream. */
  timeoutMs: number;
  send(signal: AbortSignal): Promise<UpstreamAnswer>;
  /** Exactly once, when the attempt is over (failed, refused, or its answer fully read). */
  end(outcome: AttemptEnd): void;
}

export interface Provider {
  readonly name: string;
  readonly kind: ProviderKind;
  /** Retries of one chain entry after its first attempt. */
  readonly maxRetries: number;
  /** Routes the attempt (engines) or just addresses it (hosted); throws a StrataError if it cannot. */
  prepare(request: ProviderRequest): Promise<PreparedAttempt>;
  close?(): Promise<void>;
}
