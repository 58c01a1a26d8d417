import type { ServerResponse } from "node:http";
import { sendJson } from "../http/respond.js";
import type { Fault } from "./fault-injector.js";

export type ErrorFlavor = "vllm" | "tgi" | "anthropic";

/** Error types each API uses for the statuses a fault may send. */
function errorBody(flavor: ErrorFlavor, status: number): unknown {
  const message = `injected fault: HTTP ${status}`;
  if (flavor === "anthropic") {
    const type =
      status === 429
        ? "rate_limit_error"
        : status === 529
          ? "overloaded_error"
          : status >= 500
            ? "api_error"
            : "invalid_request_error";
    return { type: "error", error: { type, message } };
  }
  if (flavor === "tgi") {
    const type = status === 429 ? "overloaded" : status >= 500 ? "generation" : "validation";
    return { error: message, error_type: type };
  }
  const type =
    status === 429
      ? "TooManyRequestsError"
      : status === 503
        ? "ServiceUnavailableError"
        : status >= 500
          ? "InternalServerError"
          : "BadRequestError";
  return { error: { message, type, param: null, code: status } };
}

/**
 * Applies the part of a fault that comes before the answer: hanging, then failing with a status, or
 * (for a plain answer) dropping the connection. Returns true when the handler must not answer.
 * Dropping a stream part-way is the SSE writer's job (SseWriter.dropAfter).
 */
export async function applyFaultBeforeAnswer(
  fault: Fault | undefined,
  flavor: ErrorFlavor,
  response: ServerResponse,
  stream: boolean,
): Promise<boolean> {
  if (!fault) return false;
  if (fault.hangMs) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, fault.hangMs);
      response.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (response.destroyed || response.writableEnded) return true;
  }
  if (fault.status !== undefined) {
    const headers: Record<string, string> =
      fault.retryAfterSeconds === undefined ? {} : { "retry-after": String(fault.retryAfterSeconds) };
    sendJson(response, fault.status, errorBody(flavor, fault.status), headers);
    return true;
  }
  if (fault.dropAfterChunks !== undefined && (!stream || fault.dropAfterChunks === 0)) {
    response.destroy();
    return true;
  }
  return false;
}
