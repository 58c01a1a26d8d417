import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  Http1ClosedError,
  Http1Pool,
  type Http1PoolOptions,
  Http1TimeoutError,
} from "../../src/upstream/http1-pool.js";

const defaults: Http1PoolOptions = {
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 5_000,
  bodyTimeoutMs: 5_000,
  connectionsPerOrigin: 4,
  keepAliveMs: 30_000,
};

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function httpServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  keepAliveTimeoutMs = 5_000,
) {
  const server: Server = createServer(handler);
  server.keepAliveTimeout = keepAliveTimeoutMs;
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => sockets.add(socket));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, sockets };
}

/** A TCP server that answers each connection's bytes with `answer` (raw HTTP, for framing the http module never sends). */
async function rawServer(answer: (socket: Socket, request: string) => void): Promise<number> {
  const server: TcpServer = createTcpServer((socket) => {
    socket.on("data", (data) => answer(socket, data.toString("latin1")));
    socket.on("error", () => undefined);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

function pool(options: Partial<Http1PoolOptions> = {}) {
  const created = new Http1Pool({ ...defaults, ...options });
  cleanups.push(() => created.close());
  return created;
}

function post(
  client: Http1Pool,
  port: number,
  extra: { signal?: AbortSignal; headers?: Record<string, string> } = {},
) {
  return client.request({
    host: "127.0.0.1",
    port,
    path: "/v1/echo?x=1",
    headers: { "content-type": "application/json", ...extra.headers },
    body: JSON.stringify({ text: "héllo" }),
    signal: extra.signal ?? new AbortController().signal,
  });
}

async function text(body: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

describe("HTTP/1.1 upstream pool", () => {
  it("sends the request as given and reuses one keep-alive connection for sequential requests", async () => {
    const seen: string[] = [];
    const { port, sockets } = await httpServer(async (request, response) => {
      seen.push(
        `${request.method} ${request.url} ${request.headers["content-type"]} ${request.headers.host}`,
      );
      const body = await text(request);
      response.setHeader("x-multi", ["a", "b"]);
      response.end(JSON.stringify({ got: JSON.parse(body) }));
    });
    const client = pool();
    for (let index = 0; index < 3; index++) {
      const response = await post(client, port);
      expect(response.status).toBe(200);
      expect(response.headers["x-multi"]).toEqual(["a", "b"]);
      expect(JSON.parse(await text(response.body))).toEqual({ got: { text: "héllo" } });
    }
    expect(seen).toEqual(Array(3).fill(`POST /v1/echo?x=1 application/json 127.0.0.1:${port}`));
    expect(sockets.size).toBe(1);
  });

  it("streams a chunked body as it arrives, with backpressure", async () => {
    let release: (() => void) | undefined;
    const { port } = await httpServer(async (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: one\n\n");
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      response.end("data: two\n\n");
    });
    const response = await post(pool(), port);
    const reader = response.body[Symbol.asyncIterator]();
    expect(String((await reader.next()).value)).toBe("data: one\n\n");
    release!();
    expect(String((await reader.next()).value)).toBe("data: two\n\n");
    expect((await reader.next()).done).toBe(true);
  });

  it("queues requests beyond the connection limit and serves them as connections free up", async () => {
    const { port, sockets } = await httpServer(async (_request, response) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      response.end("ok");
    });
    const client = pool({ connectionsPerOrigin: 2 });
    const answers = await Promise.all(
      Array.from({ length: 6 }, async () => text((await post(client, port)).body)),
    );
    expect(answers).toEqual(Array(6).fill("ok"));
    expect(sockets.size).toBe(2);
  });

  it("fails with the connect error when nothing listens", async () => {
    const port = await rawServer(() => undefined);
    const closedPort = port; // a port that was just in use and is closed below
    await cleanups.pop()!();
    const failure = await post(pool(), closedPort).catch((error: unknown) => error);
    expect((failure as { code?: string }).code).toBe("ECONNREFUSED");
  });

  it("times out a response head that does not come", async () => {
    const port = await rawServer(() => undefined);
    const failure = await post(pool({ headersTimeoutMs: 100 }), port).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Http1TimeoutError);
    expect((failure as Http1TimeoutError).code).toBe("ERR_HEADERS_TIMEOUT");
  });

  it("times out a body that stalls, and fails a body cut short", async () => {
    const stalling = await rawServer((socket) =>
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"),
    );
    const stalled = await post(pool({ bodyTimeoutMs: 100 }), stalling);
    await expect(text(stalled.body)).rejects.toMatchObject({ code: "ERR_BODY_TIMEOUT" });
    const cutting = await rawServer((socket) =>
      socket.end("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"),
    );
    const cut = await post(pool(), cutting);
    await expect(text(cut.body)).rejects.toBeInstanceOf(Http1ClosedError);
  });

  it("reads a body that runs to the connection's close, and opens a new connection next time", async () => {
    let connections = 0;
    const port = await rawServer((socket) => {
      connections++;
      socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close");
    });
    const client = pool();
    expect(await text((await post(client, port)).body)).toBe("until close");
    expect(await text((await post(client, port)).body)).toBe("until close");
    expect(connections).toBe(2);
  });

  it("aborts a request in flight and closes its connection", async () => {
    const { port, sockets } = await httpServer((_request, response) => {
      response.writeHead(200);
      response.write("partial");
    });
    const client = pool();
    const abort = new AbortController();
    const response = await post(client, port, { signal: abort.signal });
    const reading = text(response.body);
    abort.abort();
    await expect(reading).rejects.toMatchObject({ name: "AbortError" });
    const before = new AbortController();
    before.abort();
    await expect(post(client, port, { signal: before.signal })).rejects.toMatchObject({ name: "AbortError" });
    await expect.poll(() => [...sockets].every((socket) => socket.destroyed)).toBe(true);
  });

  it("closes the connection when the reader stops early, and serves the next request on a new one", async () => {
    const { port, sockets } = await httpServer((request, response) => {
      response.writeHead(200);
      response.write("first part");
      if (request.headers["x-finish"]) response.end();
    });
    const client = pool();
    const response = await post(client, port);
    for await (const _chunk of response.body) break;
    const next = await post(client, port, { headers: { "x-finish": "1" } });
    expect(await text(next.body)).toBe("first part");
    expect(sockets.size).toBe(2);
  });

  it("refuses header values that would smuggle a second request", async () => {
    const { port } = await httpServer((_request, response) => response.end("ok"));
    await expect(post(pool(), port, { headers: { "x-id": "a\r\nGET / HTTP/1.1" } })).rejects.toThrow(
      /line break/,
    );
  });

  it("does not reuse a connection the server is about to close", async () => {
    // The server says `keep-alive: timeout=1`; the pool lets the connection go a second before that.
    const { port, sockets } = await httpServer((_request, response) => response.end("ok"), 1_000);
    const client = pool();
    expect(await text((await post(client, port)).body)).toBe("ok");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await text((await post(client, port)).body)).toBe("ok");
    expect(sockets.size).toBe(2);
  });
});
