import type { Readable } from "node:stream";
import { StrataError } from "@strata/kit";
import { Agent, request, errors as undiciErrors } from "undici";

export interface EngineClientOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  connectionsPerEndpoint: number;
}

export interface EngineRequest {
  baseUrl: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
  signal: AbortSignal;
}

export interface EngineResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

/** HTTP to engine replicas over keep-alive connection pools, one pool per replica. */
export class EngineClient {
  private readonly agent: Agent;

  constructor(options: EngineClientOptions) {
    this.agent = new Agent({
      connections: options.connectionsPerEndpoint,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  async send(engineRequest: EngineRequest): Promise<EngineResponse> {
    try {
      const response = await request(engineRequest.baseUrl + engineRequest.path, {
        method: "POST",
        dispatcher: this.agent,
        headers: { "content-type": "application/json", ...engineRequest.headers },
        body: JSON.stringify(engineRequest.body),
        signal: engineRequest.signal,
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      throw engineError(error, engineRequest.baseUrl);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Classifies a failed engine call: the client going away, a timeout, or an engine we could not reach. */
export function engineError(error: unknown, baseUrl: string): StrataError {
  if (error instanceof StrataError) return error;
  const name = (error as Error)?.name;
  if (name === "AbortError" || error instanceof undiciErrors.RequestAbortedError) {
    return new StrataError("client_closed", "The client closed the request.", { cause: error });
  }
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return new StrataError("timeout", `The model replica at ${baseUrl} did not answer in time.`, {
      cause: error,
    });
  }
  return new StrataError("upstream_error", `Could not reach the model replica at ${baseUrl}.`, {
    cause: error,
  });
}

/** Reads a whole (bounded) response body. */
export async function readAll(body: Readable, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new StrataError("upstream_error", "The model replica's answer is too large.");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

const connectFailureCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENOTFOUND", "UND_ERR_CONNECT_TIMEOUT"]);

/** True when the engine was never reached, which tells the router the replica itself is in trouble. */
export function isConnectFailure(error: StrataError): boolean {
  const code = (error.cause as { code?: string } | undefined)?.code;
  return code !== undefined && connectFailureCodes.has(code);
}
