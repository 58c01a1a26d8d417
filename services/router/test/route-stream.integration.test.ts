import { createGrpcClient, Registry, type ServiceClient, silentLogger } from "@strata/kit";
import { routerV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRouter, run } from "../src/index.js";
import { FakeEngine } from "./support/fake-engine.js";

describe("RouteStream over real gRPC", () => {
  const llama = new FakeEngine("llama");
  const registry = new Registry();
  let router: RunningRouter;
  let client: ServiceClient<typeof routerV1.RouterService>;
  const metricsText = async () => (await fetch(`http://127.0.0.1:${router.opsPort}/metrics`)).text();

  beforeAll(async () => {
    await llama.start();
    router = await run(
      {
        grpc: { host: "127.0.0.1", port: 0 },
        ops: { port: 0 },
        endpoints: [{ id: "llama-a", url: llama.url, model: "llama", aliases: ["default"] }],
      },
      { logger: silentLogger(), registry },
    );
    client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${router.grpcPort}`);
  });

  afterAll(async () => {
    client?.close();
    await router?.close();
    await llama.stop();
  });

  it("routes and reports on one stream, with the same logic as the unary calls", async () => {
    const call = client.routeStream();
    const answers = call.responses[Symbol.asyncIterator]();
    call.send({ kind: { case: "route", value: { requestId: "s-1", model: "default" } } });
    const first = (await answers.next()).value as routerV1.RouteStreamResponse;
    expect(first.requestId).toBe("s-1");
    expect(first.error).toBeUndefined();
    expect(first.route).toMatchObject({ model: "llama", strategy: "kv-aware" });
    expect(first.route?.endpoint).toMatchObject({ id: "llama-a", url: llama.url, servedModel: "llama" });
    expect(await metricsText()).toContain('strata_router_endpoint_in_flight{endpoint="llama-a"} 1');

    call.send({
      kind: { case: "report", value: { requestId: "s-1", outcome: routerV1.Outcome.SUCCESS } },
    });
    // Reports get no answer; a Route sent after one is answered next, and the report has landed.
    call.send({ kind: { case: "route", value: { requestId: "s-2", model: "llama" } } });
    expect((await answers.next()).value).toMatchObject({ requestId: "s-2" });
    expect(await metricsText()).toContain('strata_router_endpoint_in_flight{endpoint="llama-a"} 1');
    call.send({ kind: { case: "report", value: { requestId: "s-2", outcome: routerV1.Outcome.SUCCESS } } });
    call.end();
    expect((await answers.next()).done).toBe(true);
    expect(await metricsText()).toContain('strata_router_endpoint_in_flight{endpoint="llama-a"} 0');
  });

  it("answers failures and malformed messages with an error and keeps the stream open", async () => {
    const call = client.routeStream();
    const answers = call.responses[Symbol.asyncIterator]();
    call.send({ kind: { case: "route", value: { requestId: "e-1", model: "gpt-nope" } } });
    call.send({ kind: { case: undefined } });
    call.send({ kind: { case: "route", value: { requestId: "", model: "llama" } } });
    call.send({ kind: { case: "report", value: { requestId: "" } } });
    call.send({ kind: { case: "route", value: { requestId: "e-2", model: "llama" } } });
    const received = [];
    for (let index = 0; index < 4; index++) received.push((await answers.next()).value);
    expect(received[0]).toMatchObject({
      requestId: "e-1",
      error: { code: "model_not_found", message: 'model "gpt-nope" is not served', param: "model" },
    });
    expect(received[0].route).toBeUndefined();
    expect(received[1]).toMatchObject({ requestId: "", error: { code: "invalid_request", param: "kind" } });
    expect(received[2]).toMatchObject({
      requestId: "",
      error: { code: "invalid_request", param: "request_id" },
    });
    expect(received[3]).toMatchObject({ requestId: "e-2", route: { model: "llama" } });
    call.send({ kind: { case: "report", value: { requestId: "e-2", outcome: routerV1.Outcome.SUCCESS } } });
    call.end();
    expect((await answers.next()).done).toBe(true);
    expect(await registry.metrics()).toContain('strata_router_route_errors_total{code="model_not_found"} 1');
  });

  it("answers many concurrent routes, each matched by request_id", async () => {
    const call = client.routeStream();
    const total = 500;
    for (let index = 0; index < total; index++)
      call.send({ kind: { case: "route", value: { requestId: `c-${index}`, model: "llama" } } });
    const ids = new Set<string>();
    for await (const answer of call.responses) {
      expect(answer.route?.endpoint?.id).toBe("llama-a");
      ids.add(answer.requestId);
      call.send({ kind: { case: "report", value: { requestId: answer.requestId } } });
      if (ids.size === total) call.end();
    }
    expect(ids.size).toBe(total);
    expect(await metricsText()).toContain('strata_router_endpoint_in_flight{endpoint="llama-a"} 0');
  });
});
