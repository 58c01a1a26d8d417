import type { Readable } from "node:stream";
import { sseData } from "./sse.js";
import { readAll, upstreamError } from "./upstream-client.js";

/**
 * The SSE data payloads of an upstream response body. Stopping early (the client went away, a
 * translation gave up) destroys the body, which closes the connection and cancels the upstream; a
 * transport failure mid-way surfaces as a classified StrataError.
 */
export async function* sseEvents(body: Readable, address: string): AsyncGenerator<string> {
  let finished = false;
  try {
    yield* sseData(body);
    finished = true;
  } catch (error) {
    throw upstreamError(error, address);
  } finally {
    if (!finished) body.destroy();
  }
}

/**
 * Reads a whole body (up to `limit` bytes, readAll's bound when unset), classifying a transport
 * failure mid-way like any other upstream failure.
 */
export async function readBodyOf(body: Readable, address: string, limit?: number): Promise<Buffer> {
  try {
    return await readAll(body, limit);
  } catch (error) {
    throw upstreamError(error, address);
  }
}
