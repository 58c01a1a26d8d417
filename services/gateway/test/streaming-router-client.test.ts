import { startEngineSim } from "@strata/engine-sim";
import {
  createGrpcClient,
  GrpcServer,
  Registry,
  type ServiceClient,
  StrataError,
  silentLogger,
} from "@strata/kit";
import { eventually } from "@strata/kit/testing";
import { routerV1 } from "@strata/proto";
import { type RunningRouter, run } from "@strata/router";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamingRouterClient } from "../src/routing/streaming-router-client.js";

type RouterClient = ServiceClient<typeof routerV1.RouterService>;

/** The real client, counting which path each call took. */
function counted(client: RouterClient) {
  const counts = { unaryRoutes: 0, unaryReports: 0, streams: 0 };
  return {
    counts,
    client: {
      route: (...args: Parameters<RouterClient["route"]>) => {
        counts.unaryRoutes++;
        return client.route(...args);
      },
      report: (...args: Parameters<RouterClient["report"]>) => {
        counts.unaryReports++;
        return client.report(...args);
      },
      listModels: client.listModels,
      routeStream: (...args: Parameters<RouterClient["routeStream"]>) => {
        counts.streams++;
        return client.routeStream(...args);
      },
    },
  };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as StrataError,
  );

let sequence = 0;
const nextId = () => `src-${++sequence}`;

describe("StreamingRouterClient against the real router", () => {
  let engine: Awaited<ReturnType<typeof startEngineSim>>;
  let router: RunningRouter;
  let unary: RouterClient;
  let grpcPort = 0;
  let tracked: ReturnType<typeof counted>;
  let client: StreamingRouterClient;
  const startRouter = async (port: number) =>
    run(
      {
        grpc: { host: "127.0.0.1", port },
        ops: { port: 0 },
        endpoints: [{ id: "llama-a", url: engine.url, model: "llama" }],
      },
      { logger: silentLogger(), registry: new Registry() },
    );
  const inFlight = async () => {
    const text = await (await fetch(`http://127.0.0.1:${router.opsPort}/metrics`)).text();
    return Number(/strata_router_endpoint_in_flight\{endpoint="llama-a"\} (\d+)/.exec(text)?.[1]);
  };

  beforeAll(async () => {
    engine = await startEngineSim({ host: "127.0.0.1", port: 0, model: "llama", logLevel: "silent" });
    router = await startRouter(0);
    grpcPort = router.grpcPort;
    unary = createGrpcClient(routerV1.RouterService, `127.0.0.1:${grpcPort}`);
    tracked = counted(unary);
    client = new StreamingRouterClient({
      client: tracked.client,
      logger: silentLogger(),
      backoff: { initialMs: 20, maxMs: 200 },
    });
  });

  afterAll(async () => {
    client?.close();
    unary?.close();
    await router?.close();
    await engine?.close();
  });

  it("routes and reports over one stream", async () => {
    const requestId = nextId();
    const route = await client.route({ requestId, model: "llama" });
    expect(route.endpoint).toMatchObject({ id: "llama-a", url: engine.url, servedModel: "llama" });
    expect(await inFlight()).toBe(1);
    await client.report({ requestId, endpointId: "llama-a", outcome: routerV1.Outcome.SUCCESS });
    await eventually(async () => expect(await inFlight()).toBe(0));
    expect(tracked.counts).toEqual({ unaryRoutes: 0, unaryReports: 0, streams: 1 });
    expect((await client.listModels({})).models.map((model) => model.id)).toEqual(["llama"]);
  });

  it("rejects with the router's error, as the unary call would", async () => {
    const unknown = await failure(client.route({ requestId: nextId(), model: "gpt-nope" }));
    expect(unknown).toBeInstanceOf(StrataError);
    expect(unknown).toMatchObject({ code: "model_not_found", param: "model", httpStatus: 404 });
    const empty = await failure(client.route({ requestId: nextId(), model: "" }));
    expect(empty).toMatchObject({ code: "invalid_request", param: "model" });
  });

  it("matches interleaved concurrent answers to their callers", async () => {
    const calls = Array.from({ length: 200 }, (_, index) => {
      const model = index % 3 === 0 ? `nope-${index}` : "llama";
      const requestId = nextId();
      return { requestId, model, outcome: failure(client.route({ requestId, model })) };
    });
    for (const call of calls) {
      const error = await call.outcome;
      if (call.model === "llama") expect(error).toBeUndefined();
      else expect(error?.message).toBe(`model "${call.model}" is not served`);
    }
    for (const call of calls.filter((entry) => entry.model === "llama"))
      await client.report({ requestId: call.requestId, outcome: routerV1.Outcome.SUCCESS });
    await eventually(async () => expect(await inFlight()).toBe(0));
    expect(tracked.counts.unaryRoutes).toBe(0);
  });

  it("rejects with client_closed on abort, and frees the slot the router took anyway", async () => {
    const abort = new AbortController();
    const pending = failure(client.route({ requestId: nextId(), model: "llama" }, { signal: abort.signal }));
    abort.abort();
    expect(await pending).toMatchObject({ code: "client_closed" });
    await eventually(async () => expect(await inFlight()).toBe(0));
    const already = await failure(
      client.route({ requestId: nextId(), model: "llama" }, { signal: abort.signal }),
    );
    expect(already).toMatchObject({ code: "client_closed" });
  });

  it("survives a router restart: calls fail as unavailable while it is down, then the stream reconnects", async () => {
    const streamsBefore = tracked.counts.streams;
    await router.close();
    const down = await failure(client.route({ requestId: nextId(), model: "llama" }));
    expect(down).toMatchObject({ code: "unavailable", retryable: true });
    router = await startRouter(grpcPort);
    // Until the backoff expires calls go unary; then one is served on a fresh stream.
    await eventually(async () => {
      const unaryBefore = tracked.counts.unaryRoutes;
      const route = await client.route({ requestId: nextId(), model: "llama" });
      expect(route.endpoint?.id).toBe("llama-a");
      expect(tracked.counts.unaryRoutes).toBe(unaryBefore);
    });
    expect(tracked.counts.streams).toBeGreaterThan(streamsBefore);
  });
});

describe("StreamingRouterClient when the stream misbehaves", () => {
  const server = new GrpcServer({ logger: silentLogger(), registry: new Registry() });
  const behaviour = { stream: "hold" as "hold" | "refuse" };
  let unary: RouterClient;

  beforeAll(async () => {
    server.add(routerV1.RouterService, {
      route: async (request) => ({ model: request.model, endpoint: { id: "unary" } }),
      report: async () => ({}),
      listModels: async () => ({ models: [] }),
      // Never answers ("hold"), or refuses every stream ("refuse").
      async *routeStream(requests) {
        if (behaviour.stream === "refuse") throw new StrataError("unavailable", "streams are refused");
        // Answers only malformed messages, so well-formed routes stay pending.
        for await (const message of requests) if (!message.kind.case) yield { requestId: "" };
      },
    });
    unary = createGrpcClient(routerV1.RouterService, `127.0.0.1:${await server.listen("127.0.0.1", 0)}`);
  });

  afterAll(async () => {
    unary?.close();
    await server.close(100);
  });

  it("times out a route the router never answers", async () => {
    const client = new StreamingRouterClient({ client: unary, logger: silentLogger(), timeoutMs: 50 });
    try {
      const error = await failure(client.route({ requestId: nextId(), model: "llama" }));
      expect(error).toMatchObject({ code: "timeout", retryable: true });
    } finally {
      client.close();
    }
  });

  it("falls back to unary calls while streams cannot be opened", async () => {
    behaviour.stream = "refuse";
    const tracked = counted(unary);
    const client = new StreamingRouterClient({
      client: tracked.client,
      logger: silentLogger(),
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    try {
      // The first route rides the optimistic first stream and fails with it, retryably.
      const first = await failure(client.route({ requestId: nextId(), model: "llama" }));
      expect(first).toMatchObject({ code: "unavailable", retryable: true });
      const route = await client.route({ requestId: nextId(), model: "llama" });
      expect(route.endpoint?.id).toBe("unary");
      await client.report({ requestId: "r", outcome: routerV1.Outcome.SUCCESS });
      expect(tracked.counts).toEqual({ unaryRoutes: 1, unaryReports: 1, streams: 1 });
    } finally {
      client.close();
      behaviour.stream = "hold";
    }
  });

  it("rejects pending routes with unavailable when the stream breaks", async () => {
    const other = new GrpcServer({ logger: silentLogger(), registry: new Registry() });
    other.add(routerV1.RouterService, {
      route: async () => ({}),
      report: async () => ({}),
      listModels: async () => ({ models: [] }),
      async *routeStream(requests) {
        // Answers only malformed messages, so well-formed routes stay pending.
        for await (const message of requests) if (!message.kind.case) yield { requestId: "" };
      },
    });
    const otherClient = createGrpcClient(
      routerV1.RouterService,
      `127.0.0.1:${await other.listen("127.0.0.1", 0)}`,
    );
    const client = new StreamingRouterClient({ client: otherClient, logger: silentLogger() });
    try {
      const pending = [1, 2, 3].map(() => failure(client.route({ requestId: nextId(), model: "llama" })));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await other.close(100);
      for (const error of await Promise.all(pending))
        expect(error).toMatchObject({ code: "unavailable", retryable: true, message: /router stream broke/ });
    } finally {
      client.close();
      otherClient.close();
    }
  });
});
