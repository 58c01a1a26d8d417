import type { IncomingMessage } from "node:http";
import { StrataError } from "@strata/kit";

/** Reads a request body up to a limit; a larger one is refused with 413 as soon as it is known to be too big. */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
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
