import type { ServerResponse } from "node:http";
import { StrataError } from "@strata/kit";

/** The error of a request whose client went away (HTTP 499, gRPC CANCELLED). */
export function clientClosedError(cause?: unknown): StrataError {
  return new StrataError("client_closed", "The client closed the request.", { cause });
}

/** A signal that aborts with clientClosedError when the connection closes before the answer is sent. */
export function clientClosedSignal(response: ServerResponse): AbortSignal {
  const abort = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished) abort.abort(clientClosedError());
  });
  return abort.signal;
}
