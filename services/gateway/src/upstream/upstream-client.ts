import type { Readable } from "node:stream";
import { StrataError } from "@strata/kit";
import { Agent, errors as undiciErrors } from "undici";
import { clientClosedError } from "../http/client-closed.js";
import { collectStream } from "../http/collect-stream.js";
import { Http1ClosedError, Http1Pool, Http1TimeoutError } from "./http1-pool.js";

export interface UpstreamClientOptions {
  connectTimeoutMs: number;
  /** Time allowed for the upstream to start answering (queueing and prefill included). */
  headersTimeoutMs: number;
  /** Longest pause between two chunks of an answer. */
  bodyTimeoutMs: number;
  connectionsPerEndpoint: number;
}

export interface UpstreamRequest {
  /** Full URL: the provider's base URL and the API path. */
  url: string;
  body: unknown;
  headers: Record<string, string>;
  signal: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

interface Target {
  origin: string;
  path: string;
  /** Set for plain-HTTP upstreams, which the lean HTTP/1.1 pool serves. */
  plain?: { host: string; port: number };
}

/**
 * HTTP to upstreams (engine replicas, hosted APIs) over keep-alive connection pools, one per origin:
 * plain-HTTP upstreams (engines inside the cluster) through the gateway's own HTTP/1.1 pool, which
 * costs a fraction of a general client per request; TLS upstreams (hosted APIs) through undici.
 */
export class UpstreamClient {
  private readonly agent: Agent;
  private readonly plain: Http1Pool;
  /** Upstream URLs split once: parsing a URL per request is a measurable cost. */
  private readonly targets = new Map<string, Target>();

  constructor(options: UpstreamClientOptions) {
    this.plain = new Http1Pool({
      connectTimeoutMs: options.connectTimeoutMs,
      headersTimeoutMs: options.headersTimeoutMs,
      bodyTimeoutMs: options.bodyTimeoutMs,
      connectionsPerOrigin: options.connectionsPerEndpoint,
      keepAliveMs: 30_000,
    });
    this.agent = new Agent({
      connections: options.connectionsPerEndpoint,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  async post(upstreamRequest: UpstreamRequest): Promise<UpstreamResponse> {
    try {
      const { origin, path, plain } = this.target(upstreamRequest.url);
      if (plain)
        return await this.plain.request({
          ...plain,
          path,
          headers: { "content-type": "application/json", ...upstreamRequest.headers },
          body: JSON.stringify(upstreamRequest.body),
          signal: upstreamRequest.signal,
        });
      const response = await this.agent.request({
        origin,
        path,
        method: "POST",
        headers: { "content-type": "application/json", ...upstreamRequest.headers },
        body: JSON.stringify(upstreamRequest.body),
        signal: upstreamRequest.signal,
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      throw upstreamError(error, upstreamRequest.url);
    }
  }

  close(): Promise<void> {
    this.plain.close();
    return this.agent.close();
  }

  private target(url: string): Target {
    let target = this.targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      target = { origin: parsed.origin, path: parsed.pathname + parsed.search };
      if (parsed.protocol === "http:")
        target.plain = { host: parsed.hostname.replace(/^\[|\]$/g, ""), port: Number(parsed.port || 80) };
      // A handful of endpoints and paths in practice; the bound only guards against surprises.
      if (this.targets.size >= 1_000) this.targets.clear();
      this.targets.set(url, target);
    }
    return target;
  }
}

/** Classifies a failed upstream call: the client going away, a timeout, or an upstream we could not reach. */
export function upstreamError(error: unknown, address: string): StrataError {
  if (error instanceof StrataError) return error;
  const name = (error as Error)?.name;
  if (name === "AbortError" || error instanceof undiciErrors.RequestAbortedError) {
    return clientClosedError(error);
  }
  const timedOut =
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    (error instanceof Http1TimeoutError && error.code !== "ERR_CONNECT_TIMEOUT");
  if (timedOut) {
    return new StrataError("timeout", `The upstream at ${origin(address)} did not answer in time.`, {
      cause: error,
    });
  }
  const lost =
    error instanceof undiciErrors.SocketError ||
    error instanceof Http1ClosedError ||
    (error as { code?: string })?.code === "ECONNRESET";
  return new StrataError(
    "upstream_error",
    lost
      ? `The connection to the upstream at ${origin(address)} was lost.`
      : `Could not reach the upstream at ${origin(address)}.`,
    { cause: error },
  );
}

/** Only scheme, host and port: paths and query strings of hosted APIs stay out of errors. */
function origin(address: string): string {
  try {
    return new URL(address).origin;
  } catch {
    return address;
  }
}

/** Reads a whole (bounded) response body. */
export function readAll(body: Readable, limit = 64 * 1024 * 1024): Promise<Buffer> {
  // Copied even when it came in one chunk: answers may be kept (response cache) long after the read.
  return collectStream(
    body,
    limit,
    () => new StrataError("upstream_error", "The upstream's answer is too large."),
    true,
  );
}

const connectFailureCodes = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_CONNECT_TIMEOUT",
]);

/** True when the upstream was never reached, which tells the router the replica itself is in trouble. */
export function isConnectFailure(error: StrataError): boolean {
  const code = (error.cause as { code?: string } | undefined)?.code;
  return code !== undefined && connectFailureCodes.has(code);
}
