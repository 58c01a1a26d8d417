import { create } from "@bufbuild/protobuf";
import { routerV1 } from "@strata/proto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGrpcClient, GrpcServer, type ServiceClient, StrataError, silentLogger } from "../src/index.js";

describe("gRPC server and client from protobuf-es descriptors", () => {
  const registry = new Registry();
  const server = new GrpcServer({ logger: silentLogger(), registry });
  let client: ServiceClient<typeof routerV1.RouterService>;
  let port = 0;

  beforeAll(async () => {
    server.add(routerV1.RouterService, {
      async route(request, context) {
        if (request.model === "missing")
          throw new StrataError("model_not_found", "no such model", { param: "model" });
        if (request.model === "boom") throw new Error("secret internals");
        context.setHeader("x-route", "e1");
        return { model: request.model, strategy: "least-load", endpoint: { id: "e1", url: "http://x" } };
      },
      async report() {
        return {};
      },
      async listModels(_request, context) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { models: [{ id: context.metadata.get("tenant")[0] as string, endpoints: 2 }] };
      },
      // Bidi streaming has its own suite in grpc-bidi.test.ts.
      async *routeStream() {},
    });
    port = await server.listen("127.0.0.1", 0);
    client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${port}`);
  });

  afterAll(async () => {
    client.close();
    await server.close(100);
  });

  it("round-trips typed messages", async () => {
    const response = await client.route({ model: "llama", requestId: "r1" });
    expect(response.model).toBe("llama");
    expect(response.endpoint?.id).toBe("e1");
    const models = await client.listModels(create(routerV1.ListModelsRequestSchema), {
      metadata: { tenant: "t1" },
    });
    expect(models.models[0]).toMatchObject({ id: "t1", endpoints: 2 });
  });

  it("maps StrataError to a precise gRPC status and back", async () => {
    const error = await client.route({ model: "missing" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StrataError);
    expect(error).toMatchObject({ code: "model_not_found", param: "model", message: "no such model" });
    expect((error as StrataError).grpcStatus).toBe(5);
  });

  it("hides unexpected errors behind INTERNAL", async () => {
    const error = (await client.route({ model: "boom" }).catch((caught: unknown) => caught)) as StrataError;
    expect(error.code).toBe("internal_error");
    expect(error.message).not.toContain("secret");
  });

  it("counts calls by status", async () => {
    const text = await registry.metrics();
    expect(text).toMatch(
      /strata_grpc_server_handled_total\{service="strata.router.v1.RouterService",method="Route",code="OK"\} \d/,
    );
    expect(text).toMatch(/code="model_not_found"/);
  });

  it("honours deadlines", async () => {
    const error = (await client
      .listModels({}, { deadline: Date.now() + 1 })
      .catch((caught: unknown) => caught)) as StrataError;
    expect(error.code).toBe("timeout");
  });
});
