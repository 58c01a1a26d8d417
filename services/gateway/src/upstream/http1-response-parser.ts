/**
 * An incremental HTTP/1.1 response parser: bytes in as they arrive, the head once, body pieces as
 * views of the input, then the end. It reads what an upstream sends a POST: a status line and
 * headers (1xx interim responses skipped), then a body framed by content-length, by chunked
 * transfer coding (extensions and trailers ignored), by nothing (204/304) or by the connection's
 * close. Anything else is a protocol error, thrown from feed().
 */
export interface ResponseHead {
  status: number;
  headers: Record<string, string | string[]>;
  /** The connection may carry another request once this response has ended. */
  keepAlive: boolean;
  /** Milliseconds the server keeps an idle connection open (its `keep-alive: timeout=`), when it says. */
  serverKeepAliveMs: number | undefined;
}

export interface ResponseSink {
  head(head: ResponseHead): void;
  body(chunk: Buffer): void;
  end(): void;
}

/** Largest head accepted: status line and headers together (a chunk-size line is far shorter). */
const maxHeadBytes = 64 * 1024;

type State = "head" | "length" | "chunk-size" | "chunk-data" | "chunk-end" | "trailers" | "close" | "done";

export class Http1ResponseParser {
  private state: State = "head";
  private pending: Buffer | undefined;
  /** Bytes left: of a content-length body, or of the current chunk. */
  private remaining = 0;
  /** Bytes came after the response ended: the connection is out of step and must not be reused. */
  overrun = false;

  constructor(private readonly sink: ResponseSink) {}

  get done(): boolean {
    return this.state === "done";
  }

  feed(input: Buffer): void {
    const data = this.pending ? Buffer.concat([this.pending, input]) : input;
    this.pending = undefined;
    let at = 0;
    while (at < data.length) {
      if (this.state === "done") {
        this.overrun = true;
        return;
      }
      const next = this.step(data, at);
      if (next === -1) {
        // An incomplete line: kept for the next read.
        if (data.length - at > maxHeadBytes) throw new Http1ProtocolError("the response head is too large");
        this.pending = data.subarray(at);
        return;
      }
      at = next;
    }
  }

  /** The connection closed: the end of a body that runs to close; otherwise the response was cut short. */
  closed(): void {
    if (this.state === "close") {
      this.finish();
      return;
    }
    if (this.state !== "done")
      throw new Http1ProtocolError("the connection closed before the response ended");
  }

  /** Consumes from `at`; returns where it stopped, or -1 when it needs more bytes. */
  private step(data: Buffer, at: number): number {
    switch (this.state) {
      case "head":
        return this.readHead(data, at);
      case "length":
      case "chunk-data": {
        const take = Math.min(this.remaining, data.length - at);
        this.sink.body(data.subarray(at, at + take));
        this.remaining -= take;
        if (this.remaining === 0) {
          if (this.state === "length") this.finish();
          else this.state = "chunk-end";
        }
        return at + take;
      }
      case "close":
        this.sink.body(data.subarray(at));
        return data.length;
      case "chunk-size":
        return this.readChunkSize(data, at);
      case "chunk-end": {
        const end = lineEnd(data, at);
        if (end === -1) return -1;
        if (end !== at) throw new Http1ProtocolError("chunk data longer than its size");
        this.state = "chunk-size";
        return end + 2;
      }
      default: {
        // trailers: header lines after the last chunk, up to an empty line.
        const end = lineEnd(data, at);
        if (end === -1) return -1;
        if (end === at) this.finish();
        return end + 2;
      }
    }
  }

  private readHead(data: Buffer, at: number): number {
    const end = data.indexOf("\r\n\r\n", at, "latin1");
    if (end === -1) return -1;
    const lines = data.toString("latin1", at, end).split("\r\n");
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]!);
    if (!statusLine) throw new Http1ProtocolError(`not an HTTP/1.x status line: ${lines[0]!.slice(0, 40)}`);
    const status = Number(statusLine[2]);
    // 100 Continue, 103 Early Hints: the real response follows.
    if (status < 200) return end + 4;
    const headers = parseHeaders(lines);
    const connection = single(headers.connection)?.toLowerCase();
    let keepAlive = statusLine[1] === "1" ? connection !== "close" : connection === "keep-alive";
    const transferEncoding = single(headers["transfer-encoding"])?.toLowerCase();
    const contentLength = single(headers["content-length"]);
    if (transferEncoding !== undefined) {
      if (!transferEncoding.endsWith("chunked"))
        throw new Http1ProtocolError("unsupported transfer-encoding");
      this.state = "chunk-size";
    } else if (status === 204 || status === 304) {
      this.state = "done";
    } else if (contentLength !== undefined) {
      if (!/^\d{1,15}$/.test(contentLength)) throw new Http1ProtocolError("malformed content-length");
      this.remaining = Number(contentLength);
      this.state = this.remaining === 0 ? "done" : "length";
    } else {
      this.state = "close";
      keepAlive = false;
    }
    this.sink.head({
      status,
      headers,
      keepAlive,
      serverKeepAliveMs: keepAliveTimeoutMs(headers["keep-alive"]),
    });
    if (this.state === "done") this.sink.end();
    return end + 4;
  }

  private readChunkSize(data: Buffer, at: number): number {
    const end = lineEnd(data, at);
    if (end === -1) return -1;
    const line = data.toString("latin1", at, end);
    const semicolon = line.indexOf(";");
    const digits = (semicolon === -1 ? line : line.slice(0, semicolon)).trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(digits)) throw new Http1ProtocolError("malformed chunk size");
    this.remaining = Number.parseInt(digits, 16);
    this.state = this.remaining === 0 ? "trailers" : "chunk-data";
    return end + 2;
  }

  private finish(): void {
    this.state = "done";
    this.sink.end();
  }
}

export class Http1ProtocolError extends Error {
  readonly code = "ERR_UPSTREAM_PROTOCOL";
}

function parseHeaders(lines: string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index]!;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Http1ProtocolError("malformed header line");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers[name];
    headers[name] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return headers;
}

function lineEnd(data: Buffer, at: number): number {
  return data.indexOf("\r\n", at, "latin1");
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.at(-1) : value;
}

function keepAliveTimeoutMs(value: string | string[] | undefined): number | undefined {
  const match = /timeout=(\d+)/i.exec(single(value) ?? "");
  return match ? Number(match[1]) * 1000 : undefined;
}
