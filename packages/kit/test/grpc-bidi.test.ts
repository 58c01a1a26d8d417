import { routerV1 } from "@strata/proto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createGrpcClient,
  GrpcServer,
  type ServiceClient,
  type ServiceImpl,
  StrataError,
  silentLogger,
} from "../src/index.js";
import { eventually } from "../src/testing/wait-for.js";

/** How long the server side is given to observe a cancel or a report. */
const settle = { timeoutMs: 2_000, intervalMs: 10 };

type RouterImpl = ServiceImpl<typeof routerV1.RouterService>;

const unaryStubs: Omit<RouterImpl, "routeStream"> = {
  async route() {
    return {};
  },
  async report() {
    return {};
  },
  async listModels() {
    return { models: [] };
  },
};

/** Echoes each Route's model; "hold" is answered only after the next Route, to show answers need not keep order. */
function echoStream(seen: { reports: string[]; cancelled: number }): RouterImpl["routeStream"] {
  return async function* (requests, context) {
    const held: routerV1.RouteRequest[] = [];
    for await (const message of requests) {
      if (message.kind.case === "report") {
        seen.reports.push(message.kind.value.requestId);
        continue;
      }
      if (message.kind.case !== "route") continue;
      const request = message.kind.value;
      if (request.model === "missing")
        throw new StrataError("model_not_found", "no such model", { param: "model" });
      if (request.model === "boom") throw new Error("secret internals");
      if (request.model === "wait") {
        await new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true }));
        seen.cancelled++;
        return;
      }
      if (request.model === "hold") {
        held.push(request);
        continue;
      }
      yield { requestId: request.requestId, route: { model: request.model } };
      for (const earlier of held.splice(0)) yield { requestId: earlier.requestId, route: { model: "held" } };
    }
  };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe("bidirectional streaming over real sockets", () => {
  const registry = new Registry();
  const server = new GrpcServer({ logger: silentLogger(), registry });
  const seen = { reports: [] as string[], cancelled: 0 };
  let client: ServiceClient<typeof routerV1.RouterService>;

  beforeAll(async () => {
    server.add(routerV1.RouterService, { ...unaryStubs, routeStream: echoStream(seen) });
    const port = await server.listen("127.0.0.1", 0);
    client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${port}`);
  });

  afterAll(async () => {
    client.close();
    await server.close(100);
  });

  it("echoes messages both ways and ends cleanly on half-close", async () => {
    const call = client.routeStream();
    expect(call.send({ kind: { case: "route", value: { requestId: "a", model: "llama" } } })).toBe(true);
    call.send({ kind: { case: "report", value: { requestId: "a" } } });
    call.send({ kind: { case: "route", value: { requestId: "b", model: "hold" } } });
    call.send({ kind: { case: "route", value: { requestId: "c", model: "qwen" } } });
    call.end();
    const answers = await collect(call.responses);
    expect(answers.map((answer) => [answer.requestId, answer.route?.model])).toEqual([
      ["a", "llama"],
      ["c", "qwen"],
      ["b", "held"],
    ]);
    expect(seen.reports).toContain("a");
    expect(await registry.metrics()).toMatch(/method="RouteStream",code="OK"\} 1/);
  });

  it("ends the call with the handler's StrataError, mapped like a unary call", async () => {
    const call = client.routeStream();
    call.send({ kind: { case: "route", value: { requestId: "x", model: "missing" } } });
    const error = await collect(call.responses).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StrataError);
    expect(error).toMatchObject({ code: "model_not_found", param: "model", message: "no such model" });
    expect(() => call.send({ kind: { case: "route", value: { requestId: "y", model: "llama" } } })).toThrow(
      StrataError,
    );
  });

  it("hides unexpected handler errors behind internal_error", async () => {
    const call = client.routeStream();
    call.send({ kind: { case: "route", value: { requestId: "x", model: "boom" } } });
    const error = (await collect(call.responses).catch((caught: unknown) => caught)) as StrataError;
    expect(error.code).toBe("internal_error");
    expect(error.message).not.toContain("secret");
  });

  it("cancels: the client sees client_closed and the handler's signal fires", async () => {
    const call = client.routeStream();
    call.send({ kind: { case: "route", value: { requestId: "w", model: "wait" } } });
    const outcome = collect(call.responses).catch((caught: unknown) => caught);
    await new Promise((resolve) => setTimeout(resolve, 30));
    call.cancel();
    expect(await outcome).toMatchObject({ code: "client_closed" });
    await eventually(() => expect(seen.cancelled).toBe(1), settle);
  });

  it("cancels through the AbortSignal option", async () => {
    const abort = new AbortController();
    const call = client.routeStream({ signal: abort.signal });
    call.send({ kind: { case: "route", value: { requestId: "w2", model: "wait" } } });
    const outcome = collect(call.responses).catch((caught: unknown) => caught);
    await new Promise((resolve) => setTimeout(resolve, 30));
    abort.abort();
    expect(await outcome).toMatchObject({ code: "client_closed" });
    await eventually(() => expect(seen.cancelled).toBe(2), settle);
  });

  it("carries many interleaved messages in both directions, honouring backpressure", async () => {
    const call = client.routeStream();
    const total = 5_000;
    const answers = collect(call.responses);
    for (let index = 0; index < total; index++) {
      const model = index % 7 === 3 ? "hold" : `m${index}`;
      if (!call.send({ kind: { case: "route", value: { requestId: `r${index}`, model } } }))
        await call.waitForDrain();
      if (index % 2 === 0) call.send({ kind: { case: "report", value: { requestId: `r${index}` } } });
    }
    call.send({ kind: { case: "route", value: { requestId: "last", model: "flush" } } });
    call.end();
    const received = await answers;
    expect(received).toHaveLength(total + 1);
    const byId = new Map(received.map((answer) => [answer.requestId, answer.route?.model]));
    expect(byId.size).toBe(total + 1);
    expect(byId.get("r3")).toBe("held");
    expect(byId.get("r4")).toBe("m4");
    await eventually(() => expect(seen.reports).toContain(`r${total - 2}`), settle);
  });
});

describe("bidirectional streams at server shutdown", () => {
  it("ends open streams with unavailable instead of holding close() for the grace period", async () => {
    const server = new GrpcServer({ logger: silentLogger(), registry: new Registry() });
    server.add(routerV1.RouterService, {
      ...unaryStubs,
      routeStream: echoStream({ reports: [], cancelled: 0 }),
    });
    const port = await server.listen("127.0.0.1", 0);
    const client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${port}`);
    try {
      const call = client.routeStream();
      call.send({ kind: { case: "route", value: { requestId: "a", model: "llama" } } });
      const iterator = call.responses[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toMatchObject({ requestId: "a" });
      const started = Date.now();
      await server.close(5_000);
      expect(Date.now() - started).toBeLessThan(2_000);
      const error = await iterator.next().catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: "unavailable", retryable: true });
    } finally {
      client.close();
    }
  });
});
