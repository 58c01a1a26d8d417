import type { LimitStatus } from "./rate-limiter.js";

/**
 * OpenAI's rate-limit headers, so clients written for OpenAI pace themselves against the gateway
 * unchanged. A dimension without a limit sends no headers, as a limit of "infinity" helps nobody.
 */
export function setRateLimitHeaders(
  headers: Record<string, string>,
  requests: LimitStatus | undefined,
  tokens: LimitStatus | undefined,
): void {
  if (requests) {
    headers["x-ratelimit-limit-requests"] = String(requests.limit);
    headers["x-ratelimit-remaining-requests"] = String(requests.remaining);
    headers["x-ratelimit-reset-requests"] = formatDuration(requests.resetMs);
  }
  if (tokens) {
    headers["x-ratelimit-limit-tokens"] = String(tokens.limit);
    headers["x-ratelimit-remaining-tokens"] = String(tokens.remaining);
    headers["x-ratelimit-reset-tokens"] = formatDuration(tokens.resetMs);
  }
}

/** Durations the way OpenAI writes them in these headers: "120ms", "8.64s", "6m0s", "1h2m3s". */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Math.round((ms % 60_000) / 10) / 100;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
