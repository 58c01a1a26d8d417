import { StrataError } from "@strata/kit";
import { readBodyOf } from "../upstream/sse-events.js";
import type { UpstreamResponse } from "../upstream/upstream-client.js";
import type { PreparedAttempt, UpstreamAnswer } from "./provider.js";
import { parseRetryAfterMs } from "./retry-policy.js";

/** Error bodies are read up to this size: enough for any real error, bounded against a runaway one. */
const ERROR_BODY_LIMIT = 1 << 20;

/** An upstream's complete (non-streamed) answer; an error keeps the upstream's Retry-After. */
export async function readAnswer(
  response: UpstreamResponse,
  url: string,
): Promise<{ status: number; body: Buffer; retryAfterMs: number | undefined }> {
  const failed = response.status >= 400;
  const body = await readBodyOf(response.body, url, failed ? ERROR_BODY_LIMIT : undefined);
  return {
    status: response.status,
    body,
    retryAfterMs: failed ? parseRetryAfterMs(response.headers) : undefined,
  };
}

/**
 * Waits for a stream's first event, so a stream that fails before producing anything is retried
 * like any other failure: nothing has reached the client yet. An engine that answers 200 and then
 * puts an error in the first event (vLLM does for some failures) counts as failed too.
 */
export async function firstEventOrFailure(
  answer: Extract<UpstreamAnswer, { kind: "stream" }>,
  address: string,
): Promise<Extract<UpstreamAnswer, { kind: "stream" }>> {
  const iterator = answer.events[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) {
    throw new StrataError("upstream_error", `The upstream at ${address} ended the stream before any data.`);
  }
  if (first.value.startsWith('{"error"')) {
    await iterator.return?.();
    throw new StrataError(
      "upstream_error",
      `The upstream at ${address} failed: ${errorMessageOf(first.value)}`,
    );
  }
  return { kind: "stream", events: prepend(first.value, iterator) };
}

async function* prepend(first: string, iterator: AsyncIterator<string>): AsyncGenerator<string> {
  let finished = false;
  try {
    yield first;
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      yield next.value;
    }
    finished = true;
  } finally {
    // Stopped early: let the source close its connection.
    if (!finished) await iterator.return?.();
  }
}

/** The error a client sees when an upstream's failing status survived every retry and fallback. */
export function statusError(
  prepared: Pick<PreparedAttempt, "kind" | "provider">,
  status: number,
  body: Buffer,
  retryAfterMs: number | undefined,
): StrataError {
  const who = prepared.kind === "engine" ? "The model replica" : `The provider "${prepared.provider}"`;
  const detail = errorMessageOf(body.toString("utf8"));
  const suffix = detail ? `: ${detail}` : ".";
  if (status === 429) {
    return new StrataError("rate_limit_exceeded", `${who} is rate limiting requests (HTTP 429)${suffix}`, {
      ...(retryAfterMs !== undefined
        ? { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) }
        : {}),
    });
  }
  if (status === 408) return new StrataError("timeout", `${who} timed out (HTTP 408)${suffix}`);
  if (status === 401 || status === 403)
    return new StrataError(
      "upstream_error",
      `${who} refused the gateway's credentials (HTTP ${status})${suffix}`,
    );
  if (status === 404)
    return new StrataError("model_not_found", `${who} does not serve the model (HTTP 404)${suffix}`);
  return new StrataError("upstream_error", `${who} failed (HTTP ${status})${suffix}`);
}

/** The message of an error body in OpenAI's, Anthropic's or TGI's shape; "" when there is none. */
export function errorMessageOf(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: unknown; message?: unknown };
    const error = json.error;
    if (typeof error === "string") return error;
    if (error && typeof error === "object" && typeof (error as { message?: unknown }).message === "string")
      return (error as { message: string }).message;
    return typeof json.message === "string" ? json.message : "";
  } catch {
    return "";
  }
}
