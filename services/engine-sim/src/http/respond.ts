import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError, badRequest } from "./errors.js";

const MAX_BODY_BYTES = 64 * 1024 * 1024;

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  if (response.headersSent || response.destroyed) return;
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
    ...headers,
  });
  response.end(payload);
}

export function sendText(
  response: ServerResponse,
  status: number,
  text: string,
  contentType = "text/plain",
): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  response.end(text);
}

export function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(badRequest(`request body larger than ${MAX_BODY_BYTES} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/** Reads and parses a JSON body; malformed JSON is a 400 as in vLLM (FastAPI json_invalid). */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  const text = await readBody(request);
  try {
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw badRequest(`JSON decode error: ${(error as Error).message}`);
  }
}

/** Server-sent events. vLLM writes `data: {...}`; TGI (axum) writes `data:{...}`. */
export class SseWriter {
  /** Events still allowed before an injected fault drops the connection. */
  private remaining = Number.POSITIVE_INFINITY;

  constructor(
    private readonly response: ServerResponse,
    private readonly prefix: "data: " | "data:",
  ) {}

  /** Fault injection: drop the connection once `count` events have been written. */
  dropAfter(count: number | undefined): void {
    if (count !== undefined) this.remaining = count;
  }

  start(headers: Record<string, string | number> = {}): void {
    if (this.response.headersSent || this.response.destroyed) return;
    this.response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      ...headers,
    });
  }

  send(data: unknown, event?: string): void {
    if (this.response.destroyed || this.response.writableEnded) return;
    const payload = typeof data === "string" ? data : JSON.stringify(data);
    // Anthropic names its events; vLLM and TGI send data lines only.
    const text = `${event ? `event: ${event}\n` : ""}${this.prefix}${payload}\n\n`;
    if (this.remaining === 0) return;
    this.remaining--;
    if (this.remaining > 0) this.response.write(text);
    // The last event allowed is flushed first, then the connection is dropped mid-answer.
    else this.response.write(text, () => this.response.destroy());
  }

  end(): void {
    // A dropped stream must not end cleanly while its last write is still flushing.
    if (this.remaining === 0) return;
    if (!this.response.destroyed && !this.response.writableEnded) this.response.end();
  }
}
