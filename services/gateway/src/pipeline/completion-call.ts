import type { AuthContext } from "../auth/api-key-store.js";
import type { CacheDirectives } from "../cache/cache-directives.js";
import type { ChatCompletionRequest, CompletionRequest, Operation } from "../openai/request-schemas.js";

/** One completion request as the HTTP and gRPC faces hand it to the pipeline. */
export interface CompletionCall {
  operation: Operation;
  request: ChatCompletionRequest | CompletionRequest;
  auth: AuthContext;
  requestId: string;
  /** Fires when the client goes away; every upstream call is cancelled with it. */
  signal: AbortSignal;
  /** performance.now() when the request arrived. */
  startedAt: number;
  /**
   * The client's deadline in milliseconds from `startedAt` (the `x-strata-timeout-ms` header or the
   * gRPC deadline); retries and fallbacks never run past it. Absent: no deadline beyond the signal.
   */
  timeoutMs?: number | undefined;
  /**
   * Response headers: every step may add to them (x-ratelimit-*, x-strata-cache, x-strata-route,
   * retry-after...). The faces send them with the answer and with an error alike, so the face creates
   * the object and keeps a reference (HTTP headers, gRPC response metadata).
   */
  headers: Record<string, string>;
  /** The client's cache directives (x-strata-cache* headers or gRPC metadata); absent: the tenant's defaults. */
  cache?: CacheDirectives | undefined;
}

/** The answer the faces send: a complete JSON body, or the SSE data payloads of a stream. */
export type CompletionResult =
  | { kind: "json"; status: number; body: Buffer; headers: Record<string, string> }
  /** `events` yields each SSE data payload (JSON text, and "[DONE]" last) as the upstream sends it. */
  | { kind: "stream"; events: AsyncIterable<string>; headers: Record<string, string> };
