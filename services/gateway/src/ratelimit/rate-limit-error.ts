import { StrataError } from "@strata/kit";
import type { RateLimitRefusal } from "./rate-limiter.js";
import { formatDuration } from "./ratelimit-headers.js";

const dimensionNames = {
  requests: "requests per minute (RPM)",
  tokens: "tokens per minute (TPM)",
  concurrency: "concurrent requests",
} as const;

/**
 * The 429 for a refusal, saying which limit (key or tenant, which dimension) and when to come back.
 * `estimated` says what the token estimate counted: a completion's prompt and max_tokens, or an
 * embedding's input.
 */
export function rateLimitError(
  refusal: RateLimitRefusal,
  estimated: "prompt" | "input" = "prompt",
): StrataError {
  const owner = refusal.scope === "key" ? `API key ${refusal.id}` : `tenant ${refusal.id}`;
  const name = dimensionNames[refusal.dimension];
  if (refusal.neverFits) {
    return new StrataError(
      "rate_limit_exceeded",
      `Request too large for the ${name} limit of ${owner}: Limit ${refusal.limit}, Requested ${refusal.requested} ` +
        (estimated === "input"
          ? "(input estimate). Send less input per request."
          : "(prompt estimate plus max_tokens). Shorten the prompt or lower max_tokens."),
      { retryable: false },
    );
  }
  const retryAfterSeconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1_000));
  if (refusal.dimension === "concurrency") {
    return new StrataError(
      "rate_limit_exceeded",
      `Rate limit reached for ${name} on ${owner}: Limit ${refusal.limit} in flight. ` +
        "Please try again once one of them has finished.",
      { retryAfterSeconds },
    );
  }
  const requested = refusal.dimension === "tokens" ? `${refusal.requested} (estimated)` : "1";
  return new StrataError(
    "rate_limit_exceeded",
    `Rate limit reached for ${name} on ${owner}: Limit ${refusal.limit}, Requested ${requested}. ` +
      `Please try again in ${formatDuration(refusal.retryAfterMs)}.`,
    { retryAfterSeconds },
  );
}
