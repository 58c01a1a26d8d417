import { LinkedAbort, StrataError } from "@strata/kit";
import type { CompletionCall } from "./completion-call.js";

/**
 * The request's deadline as a signal: it aborts when the client goes away or when the client's
 * deadline passes, and then carries the error the client should see. Every upstream call, retry
 * wait and fallback listens to it, so none outlives the deadline.
 */
export class RequestDeadline {
  readonly signal: AbortSignal;
  /** When the deadline passes, in the pipeline's clock; undefined without a deadline. */
  readonly at: number | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly linked: LinkedAbort | undefined;
  private expiredAt = false;

  constructor(call: CompletionCall, now: number) {
    if (call.timeoutMs === undefined) {
      this.signal = call.signal;
      this.at = undefined;
      return;
    }
    this.at = call.startedAt + call.timeoutMs;
    const error = new StrataError(
      "timeout",
      `The request did not complete within its deadline of ${call.timeoutMs} ms.`,
    );
    const linked = new LinkedAbort(call.signal);
    this.linked = linked;
    this.timer = setTimeout(
      () => {
        this.expiredAt = !linked.signal.aborted;
        linked.abort(error);
      },
      Math.max(0, this.at - now),
    );
    this.signal = linked.signal;
  }

  /** True once the deadline (not the client) ended the request. */
  get expired(): boolean {
    return this.expiredAt;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.linked?.dispose();
  }
}

export const TIMEOUT_HEADER = "x-strata-timeout-ms";
/** A day: longer than any completion, short enough that a typo in milliseconds is caught. */
const MAX_TIMEOUT_MS = 86_400_000;

/**
 * The client's deadline from the `x-strata-timeout-ms` header (HTTP header or gRPC metadata), and
 * from a gRPC deadline when there is one; the earlier wins. A malformed value is a 400 naming it.
 */
export function requestTimeoutMs(
  header: string | string[] | undefined,
  grpcDeadline?: number,
  now: () => number = Date.now,
): number | undefined {
  // Finite only: an in-process call passes its caller's deadline on unchecked (Infinity: none).
  const fromGrpc =
    grpcDeadline === undefined || !Number.isFinite(grpcDeadline)
      ? undefined
      : Math.max(0, grpcDeadline - now());
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === "") return fromGrpc;
  const timeoutMs = Number(value);
  if (!/^\d+$/.test(value.trim()) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new StrataError(
      "invalid_request",
      `Invalid value for '${TIMEOUT_HEADER}': expected whole milliseconds from 1 to ${MAX_TIMEOUT_MS}.`,
      { param: TIMEOUT_HEADER },
    );
  }
  return fromGrpc === undefined ? timeoutMs : Math.min(timeoutMs, fromGrpc);
}
