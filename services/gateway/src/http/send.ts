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
