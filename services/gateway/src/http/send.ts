import type { ServerResponse } from "node:http";
import { openAiErrorBody, type StrataError } from "@strata/kit";

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
  });
  response.end(payload);
}

/**
 * The work's result; when it fails, the headers the steps set so far (x-strata-route,
 * x-ratelimit-*...) are put on the response first, so they go out with the error.
 */
export function withHeadersOnError<T>(
  work: Promise<T>,
  response: ServerResponse,
  headers: Record<string, string>,
): Promise<T> {
  return work.catch((error: unknown) => {
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    throw error;
  });
}

/** Answers with OpenAI's error body and the status its code maps to; nothing if the answer already began. */
export function sendError(
  response: ServerResponse,
  error: StrataError,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const extra =
    error.retryAfterSeconds === undefined
      ? headers
      : { ...headers, "retry-after": String(error.retryAfterSeconds) };
  sendJson(response, error.httpStatus, openAiErrorBody(error), extra);
}
