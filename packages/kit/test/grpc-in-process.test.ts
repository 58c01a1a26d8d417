import { gatewayV1, routerV1 } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { type CallContext, createInProcessClient, type ServiceImpl, StrataError } from "../src/index.js";

type RouterImpl = ServiceImpl<typeof routerV1.RouterService>;

function router(overrides: Partial<RouterImpl> = {}): RouterImpl {
  return {
    async route(request) {
      if (request.model === "missing")
        throw new StrataError("model_not_found", "no such model", { param: "model" });
      return { model: request.model, endpoint: { id: "e1", url: "http://engine" }, strategy: "kv-aware" };
    },
    async report() {
      return {};
    },
    async listModels() {
      return { models: [{ id: "m" }] };
    },
    async *routeStream(requests) {
      for await (const request of requests) {
        if (request.kind.case === "route")
          yield { requestId: request.kind.value.requestId, route: { model: "m" } };
      }
    },
    ...overrides,
  };
}

describe("in-process client", () => {
  it("hands the handler a full message and the caller a full response", async () => {
    const client = createInProcessClient(routerV1.RouterService, router());
    const response = await client.route({ requestId: "r1", model: "llama" });
    expect(response.$typeName).toBe("strata.router.v1.RouteResponse");
    expect(response.model).toBe("llama");
    expect(response.endpoint?.url).toBe("http://engine");
    // Fields the handler left out carry their defaults, as after decoding.
    expect(response.candidates).toEqual([]);
    expect(response.reason).toBe("");
  });

  it("throws the handler's StrataError as a gRPC client would", async () => {
    const client = createInProcessClient(routerV1.RouterService, router());
    const failure = await client.route({ model: "missing" }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StrataError);
    expect(failure).toMatchObject({ code: "model_not_found", param: "model" });
  });

  it("turns other failures into internal errors", async () => {
    const client = createInProcessClient(
      routerV1.RouterService,
      router({
        async report() {
          throw new TypeError("boom");
        },
      }),
    );
    await expect(client.report({ requestId: "r" })).rejects.toMatchObject({ code: "internal_error" });
  });

  it("passes metadata, deadline and cancellation to the handler", async () => {
    let seen: CallContext | undefined;
    const client = createInProcessClient(
      routerV1.RouterService,
      router({
        async route(_request, context) {
          seen = context;
          await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
          throw new Error("stopped");
        },
      }),
    );
    const abort = new AbortController();
    const deadline = Date.now() + 60_000;
    const call = client.route({}, { metadata: { tenant: "t1" }, deadline, signal: abort.signal });
    await Promise.resolve();
    expect(seen?.metadata.get("tenant")).toEqual(["t1"]);
    expect(seen?.deadline).toBe(deadline);
    abort.abort();
    await expect(call).rejects.toMatchObject({ code: "client_closed" });
  });

  it("streams a server-streaming method's messages", async () => {
    const impl = {
      async *streamChatCompletion(request: gatewayV1.StreamChatCompletionRequest) {
        for (const word of ["a", "b"]) yield { id: `${request.model}:${word}` };
      },
    } as unknown as ServiceImpl<typeof gatewayV1.GatewayService>;
    for (const method of gatewayV1.GatewayService.methods)
      (impl as unknown as Record<string, unknown>)[method.localName] ??= async () => ({});
    const client = createInProcessClient(gatewayV1.GatewayService, impl);
    const chunks: string[] = [];
    for await (const chunk of client.streamChatCompletion({ model: "q" })) chunks.push(chunk.id);
    expect(chunks).toEqual(["q:a", "q:b"]);
  });

  it("carries a bidi call's messages both ways until the caller half-closes", async () => {
    const client = createInProcessClient(routerV1.RouterService, router());
    const call = client.routeStream();
    expect(call.send({ kind: { case: "route", value: { requestId: "x" } } })).toBe(true);
    call.send({ kind: { case: "report", value: { requestId: "x" } } });
    call.send({ kind: { case: "route", value: { requestId: "y" } } });
    call.end();
    const ids: string[] = [];
    for await (const answer of call.responses) ids.push(answer.requestId);
    expect(ids).toEqual(["x", "y"]);
    expect(() => call.send({})).toThrow(StrataError);
  });

  it("refuses an implementation that lacks a method", () => {
    const { report: _report, ...partial } = router();
    expect(() => createInProcessClient(routerV1.RouterService, partial as RouterImpl)).toThrow(
      /lacks report/,
    );
  });
});
