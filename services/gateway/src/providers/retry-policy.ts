import { StrataError } from "@strata/kit";

export interface BackoffOptions {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** A Retry-After longer than this is not waited out: the next entry of the chain is tried instead. */
  maxRetryAfterMs: number;
}

/**
 * Exponential backoff with full jitter (a uniformly random wait in [0, min(max, initial·2^retry)]):
 * clients that failed together do not retry together. An upstream's Retry-After wins when it says
 * to wait longer.
 */
export function backoffDelayMs(
  options: BackoffOptions,
  retry: number,
  random: () => number,
  retryAfterMs?: number,
): number {
  const ceiling = Math.min(options.maxBackoffMs, options.initialBackoffMs * 2 ** retry);
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, retryAfterMs);
}

/**
 * Retry-After as OpenAI's and Anthropic's APIs send it: `retry-after-ms` (milliseconds), else
 * `retry-after` in seconds or as an HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfterMs(
  headers: Record<string, string | string[] | undefined>,
  now: () => number = Date.now,
): number | undefined {
  const first = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const milliseconds = Number(first("retry-after-ms"));
  if (first("retry-after-ms") !== undefined && Number.isFinite(milliseconds) && milliseconds >= 0)
    return milliseconds;
  const value = first("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}

/**
 * An upstream HTTP status worth another attempt: throttling, server-side failures, and request
 * timeouts and lock conflicts (408, 409), as the official OpenAI and Anthropic SDKs retry them.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Transport failures worth another attempt: the upstream was unreachable, slow, or dropped us. */
export function isRetryableError(error: StrataError): boolean {
  return (
    error.code === "upstream_error" ||
    error.code === "timeout" ||
    error.code === "unavailable" ||
    error.code === "no_healthy_upstream"
  );
}

/** Sleeps, waking early (with the signal's reason) if the request is cancelled meanwhile. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function circuitOpenError(target: string): StrataError {
  return new StrataError("unavailable", `The circuit to ${target} is open after repeated failures.`, {
    retryable: true,
  });
}
