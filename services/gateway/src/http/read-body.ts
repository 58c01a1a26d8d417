import type { IncomingMessage } from "node:http";
import { StrataError } from "@strata/kit";
import { collectStream } from "./collect-stream.js";

/** Reads a request body up to a limit; a larger one is refused with 413 as soon as it is known to be too big. */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  return collectStream(request, limit, () => tooLarge(limit));
}

function tooLarge(limit: number): StrataError {
  return new StrataError("payload_too_large", `Request body is larger than the ${limit}-byte limit.`);
}

export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0)
    throw new StrataError("invalid_request", "The request body is empty; expected a JSON object.");
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new StrataError(
      "invalid_request",
      `We could not parse the JSON body of your request: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
