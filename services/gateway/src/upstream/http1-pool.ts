import { connect, type Socket } from "node:net";
import { Readable } from "node:stream";
import {
  Http1ProtocolError,
  Http1ResponseParser,
  type ResponseHead,
  type ResponseSink,
} from "./http1-response-parser.js";

export interface Http1PoolOptions {
  connectTimeoutMs: number;
  /** Time from sending the request to the response's head (queueing and prefill included). */
  headersTimeoutMs: number;
  /** Longest pause between two pieces of a body. */
  bodyTimeoutMs: number;
  connectionsPerOrigin: number;
  /** Longest an idle connection is kept; shorter when the server says it closes sooner. */
  keepAliveMs: number;
}

export interface Http1Request {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

export interface Http1Response {
  status: number;
  headers: Record<string, string | string[]>;
  body: Readable;
}

/** A timeout of one phase of an exchange; `code` tells which (connect failures count against the replica). */
export class Http1TimeoutError extends Error {
  constructor(readonly code: "ERR_CONNECT_TIMEOUT" | "ERR_HEADERS_TIMEOUT" | "ERR_BODY_TIMEOUT") {
    super(
      code === "ERR_CONNECT_TIMEOUT"
        ? "connect timed out"
        : code === "ERR_HEADERS_TIMEOUT"
          ? "no response head in time"
          : "the body paused too long",
    );
  }
}

/** The connection ended in the middle of an exchange. */
export class Http1ClosedError extends Error {
  readonly code = "ERR_UPSTREAM_CLOSED";
}

/**
 * HTTP/1.1 over plain TCP to upstreams the gateway talks to on every request (engine replicas):
 * keep-alive connections per origin, one request at a time on each, the request written in one
 * piece, the response parsed incrementally and its body handed over as a Readable with
 * backpressure. It does a fraction of a general client's work per request, which on the request
 * path is most of what a proxy costs. TLS upstreams (hosted APIs) go through undici instead.
 */
export class Http1Pool {
  private readonly origins = new Map<string, Origin>();
  private closed = false;

  constructor(private readonly options: Http1PoolOptions) {}

  request(request: Http1Request): Promise<Http1Response> {
    if (this.closed) return Promise.reject(new Http1ClosedError("the upstream client is closed"));
    if (request.signal.aborted) return Promise.reject(abortError());
    const key = `${request.host}:${request.port}`;
    let origin = this.origins.get(key);
    if (!origin) {
      origin = new Origin(request.host, request.port, this.options);
      this.origins.set(key, origin);
    }
    return new Promise((resolve, reject) =>
      origin.start(new Exchange(request, this.options, resolve, reject)),
    );
  }

  close(): void {
    this.closed = true;
    for (const origin of this.origins.values()) origin.close();
    this.origins.clear();
  }
}

/** The connections to one host:port, and the exchanges waiting for one. */
class Origin {
  private readonly idle: Connection[] = [];
  private readonly waiting: Exchange[] = [];
  private open = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly options: Http1PoolOptions,
  ) {}

  start(exchange: Exchange): void {
    // The most recently used connection first: the warmest, and the least likely to be closing.
    const connection = this.idle.pop();
    if (connection) connection.carry(exchange);
    else if (this.open < this.options.connectionsPerOrigin) {
      this.open++;
      new Connection(this, this.options).carry(exchange);
    } else this.waiting.push(exchange);
  }

  /** A connection finished an exchange and can carry another. */
  reusable(connection: Connection): void {
    for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
      if (next.signal.aborted) next.fail(abortError());
      else {
        connection.carry(next);
        return;
      }
    }
    this.idle.push(connection);
  }

  /** A connection is gone: a waiting exchange gets a new one in its place. */
  gone(connection: Connection): void {
    this.open--;
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
    const next = this.waiting.shift();
    if (next) this.start(next);
  }

  close(): void {
    for (const exchange of this.waiting.splice(0))
      exchange.fail(new Http1ClosedError("the upstream client closed"));
    for (const connection of this.idle.splice(0)) connection.destroy();
  }
}

/** One TCP connection; its listeners are set once and forward to the exchange it carries. */
class Connection {
  private readonly socket: Socket;
  private exchange: Exchange | undefined;
  private connecting = true;

  constructor(
    private readonly origin: Origin,
    private readonly options: Http1PoolOptions,
  ) {
    this.socket = connect({ host: origin.host, port: origin.port, noDelay: true });
    this.socket.setTimeout(options.connectTimeoutMs);
    this.socket.on("connect", () => {
      this.connecting = false;
      this.socket.setTimeout(this.exchange ? options.headersTimeoutMs : this.keepAliveMs());
    });
    this.socket.on("data", (chunk: Buffer) => {
      if (this.exchange) this.exchange.data(chunk);
      // Bytes nobody asked for: the connection is out of step.
      else this.socket.destroy();
    });
    this.socket.on("timeout", () => this.timedOut());
    this.socket.on("error", (error) => this.exchange?.fail(error));
    this.socket.on("close", () => this.lost());
  }

  carry(exchange: Exchange): void {
    this.exchange = exchange;
    if (!this.connecting) this.socket.setTimeout(this.options.headersTimeoutMs);
    exchange.begin(this, this.socket, this.origin);
  }

  /** The exchange is over: keep the connection for the next one, or close it. */
  finished(exchange: Exchange, reusable: boolean): void {
    if (this.exchange !== exchange) return;
    this.exchange = undefined;
    if (!reusable || this.socket.destroyed) {
      this.socket.destroy();
      return;
    }
    this.socket.setTimeout(this.keepAliveMs(exchange.serverKeepAliveMs));
    this.socket.resume();
    this.origin.reusable(this);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private timedOut(): void {
    if (!this.exchange) {
      this.socket.destroy();
      return;
    }
    this.exchange.timedOut(this.connecting);
  }

  private lost(): void {
    this.exchange?.closed();
    this.exchange = undefined;
    this.origin.gone(this);
  }

  private keepAliveMs(serverKeepAliveMs?: number): number {
    // Close a second before the server would: a request sent on a connection it is closing is lost.
    const server = serverKeepAliveMs === undefined ? Infinity : serverKeepAliveMs - 1_000;
    return Math.max(1, Math.min(this.options.keepAliveMs, server));
  }
}

/** One request and its response on a connection. It is its own parser sink and abort listener. */
class Exchange implements ResponseSink {
  readonly signal: AbortSignal;
  serverKeepAliveMs: number | undefined;
  private readonly parser = new Http1ResponseParser(this);
  private connection: Connection | undefined;
  private socket: Socket | undefined;
  private readable: Readable | undefined;
  private keepAlive = false;
  private over = false;

  constructor(
    private readonly request: Http1Request,
    private readonly options: Http1PoolOptions,
    private readonly resolve: (response: Http1Response) => void,
    private readonly reject: (error: Error) => void,
  ) {
    this.signal = request.signal;
    this.signal.addEventListener("abort", this, { once: true });
  }

  begin(connection: Connection, socket: Socket, origin: { host: string; port: number }): void {
    this.connection = connection;
    this.socket = socket;
    const { request } = this;
    let head = `POST ${request.path} HTTP/1.1\r\nhost: ${origin.host}:${origin.port}\r\ncontent-length: ${Buffer.byteLength(request.body)}\r\n`;
    for (const name in request.headers) {
      const value = request.headers[name]!;
      // A header value with a line break would smuggle a second request onto the connection.
      if (/[\r\n]/.test(value) || /[\r\n:]/.test(name)) {
        this.fail(new Http1ProtocolError(`header ${name} holds a line break`));
        return;
      }
      head += `${name}: ${value}\r\n`;
    }
    socket.write(`${head}\r\n${request.body}`);
  }

  data(chunk: Buffer): void {
    try {
      this.parser.feed(chunk);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  head(head: ResponseHead): void {
    this.keepAlive = head.keepAlive;
    this.serverKeepAliveMs = head.serverKeepAliveMs;
    const socket = this.socket!;
    this.readable = new Readable({
      // Backpressure: the socket pauses when the reader falls behind and resumes when it reads.
      read: () => {
        if (!this.over) socket.resume();
      },
      destroy: (error, callback) => {
        // The reader stopped early: the rest of the response will not be read, so the connection goes.
        if (!this.over) this.fail(error ?? new Http1ClosedError("the reader stopped"), false);
        callback(error);
      },
    });
    socket.setTimeout(this.options.bodyTimeoutMs);
    this.resolve({ status: head.status, headers: head.headers, body: this.readable });
  }

  body(chunk: Buffer): void {
    if (!this.readable!.push(chunk)) this.socket!.pause();
  }

  end(): void {
    if (this.over) return;
    this.over = true;
    this.signal.removeEventListener("abort", this);
    this.readable!.push(null);
    // After the body: overrun bytes may sit in the same read, so let the parser see them first.
    queueMicrotask(() => this.connection!.finished(this, this.keepAlive && !this.parser.overrun));
  }

  /** The signal fired (EventListener object form). */
  handleEvent(): void {
    this.fail(abortError());
  }

  timedOut(connecting: boolean): void {
    this.fail(
      new Http1TimeoutError(
        connecting ? "ERR_CONNECT_TIMEOUT" : this.readable ? "ERR_BODY_TIMEOUT" : "ERR_HEADERS_TIMEOUT",
      ),
    );
  }

  /** The connection closed under the exchange: the end of a body that runs to close, else a failure. */
  closed(): void {
    if (this.over) return;
    try {
      this.parser.closed();
    } catch {
      this.fail(new Http1ClosedError("the upstream closed the connection before the response ended"));
    }
  }

  fail(error: Error, destroyBody = true): void {
    if (this.over) return;
    this.over = true;
    this.signal.removeEventListener("abort", this);
    if (!this.readable) this.reject(error);
    else if (destroyBody) this.readable.destroy(error);
    this.connection?.finished(this, false);
  }
}

function abortError(): Error {
  const error = new Error("The request was aborted.");
  error.name = "AbortError";
  return error;
}
