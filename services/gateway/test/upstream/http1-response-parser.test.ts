import { describe, expect, it } from "vitest";
import {
  Http1ProtocolError,
  Http1ResponseParser,
  type ResponseHead,
} from "../../src/upstream/http1-response-parser.js";

interface Parsed {
  heads: ResponseHead[];
  chunks: Buffer[];
  body: string;
  ended: number;
  parser: Http1ResponseParser;
}

/** Feeds the response in pieces of `size` bytes (every split point gets exercised across sizes). */
function parse(response: string, size = Infinity): Parsed {
  const parsed: Parsed = { heads: [], chunks: [], body: "", ended: 0, parser: undefined as never };
  parsed.parser = new Http1ResponseParser({
    head: (head) => parsed.heads.push(head),
    // Copied: the parser hands out views of its input.
    body: (chunk) => {
      parsed.chunks.push(Buffer.from(chunk));
      parsed.body = Buffer.concat(parsed.chunks).toString("utf8");
    },
    end: () => {
      parsed.ended++;
    },
  });
  const bytes = Buffer.from(response, "utf8");
  for (let at = 0; at < bytes.length; at += size) parsed.parser.feed(bytes.subarray(at, at + size));
  return parsed;
}

const lengthResponse =
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nKeep-Alive: timeout=5\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\n{"ok":"ü"}';
const chunkedResponse =
  "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6;ext=1\r\ndata: \r\nc\r\nhello world\n\r\n0\r\nx-trailer: 1\r\n\r\n";

describe("HTTP/1.1 response parser", () => {
  it("reads a content-length response split at every byte", () => {
    for (const size of [1, 2, 3, 7, 1000]) {
      const { heads, body, ended, parser } = parse(lengthResponse, size);
      expect(heads).toHaveLength(1);
      expect(heads[0]).toMatchObject({ status: 200, keepAlive: true, serverKeepAliveMs: 5000 });
      expect(heads[0]!.headers["content-type"]).toBe("application/json");
      expect(heads[0]!.headers["set-cookie"]).toEqual(["a", "b"]);
      expect(body).toBe('{"ok":"ü"}');
      expect(ended).toBe(1);
      expect(parser.done).toBe(true);
      expect(parser.overrun).toBe(false);
    }
  });

  it("reads chunked bodies with extensions and trailers, split at every byte", () => {
    for (const size of [1, 2, 5, 1000]) {
      const { heads, body, ended } = parse(chunkedResponse, size);
      expect(heads).toHaveLength(1);
      expect(body).toBe("data: hello world\n");
      expect(ended).toBe(1);
    }
  });

  it("skips interim 1xx responses", () => {
    const { heads, body } = parse(`HTTP/1.1 100 Continue\r\n\r\n${lengthResponse}`, 3);
    expect(heads.map((head) => head.status)).toEqual([200]);
    expect(body).toBe('{"ok":"ü"}');
  });

  it("ends bodies without framing at the connection's close, and never reuses that connection", () => {
    const parsed = parse("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npartial");
    expect(parsed.heads[0]!.keepAlive).toBe(false);
    expect(parsed.ended).toBe(0);
    parsed.parser.closed();
    expect(parsed.body).toBe("partial");
    expect(parsed.ended).toBe(1);
  });

  it("treats a close before the end of a framed body as a failure", () => {
    const parsed = parse("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort");
    expect(() => parsed.parser.closed()).toThrow(Http1ProtocolError);
    expect(parsed.ended).toBe(0);
  });

  it("knows when the server will not keep the connection", () => {
    expect(
      parse("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n").heads[0]!.keepAlive,
    ).toBe(false);
    expect(parse("HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n").heads[0]!.keepAlive).toBe(false);
    const empty = parse("HTTP/1.1 204 No Content\r\n\r\n");
    expect(empty.heads[0]!.keepAlive).toBe(true);
    expect(empty.ended).toBe(1);
  });

  it("flags bytes after the end of a response", () => {
    expect(parse(`${lengthResponse}HTTP/1.1 200 OK\r\n`).parser.overrun).toBe(true);
  });

  it("refuses what is not HTTP/1.x framing it understands", () => {
    expect(() => parse("SSH-2.0-OpenSSH\r\n\r\n")).toThrow(/status line/);
    expect(() => parse("HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n")).toThrow(/content-length/);
    expect(() => parse("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n")).toThrow(/transfer-encoding/);
    expect(() => parse("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n")).toThrow(/chunk size/);
    expect(() => parse("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n")).toThrow(
      /longer than its size/,
    );
    expect(() => parse("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")).toThrow(/header line/);
    expect(() => parse(`HTTP/1.1 200 OK\r\nx: ${"a".repeat(70_000)}`)).toThrow(/too large/);
  });
});
