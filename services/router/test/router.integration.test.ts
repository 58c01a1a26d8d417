import { createGrpcClient, Registry, type ServiceClient, StrataError, silentLogger } from "@strata/kit";
import { routerV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRouter, run } from "../src/index.js";
import { FakeEngine } from "./support/fake-engine.js";
import { eventually } from "./support/patient.js";

describe("router over real gRPC with HTTP engines", () => {
  const llamaA = new FakeEngine("llama");
  const llamaB = new FakeEngine("llama");
  const qwen = new FakeEngine("qwen");
  const registry = new Registry();
  let router: RunningRouter;
  let client: ServiceClient<typeof routerV1.RouterService>;
  let sequence = 0;
  const outstanding = new Set<string>();
  const route = (model: string) => {
    const requestId = `it-${++sequence}`;
    outstanding.add(requestId);
    return client.route({ requestId, model });
  };
  /** Reports every routed request, so the next test starts with no in-flight load. */
  const reportAll = async () => {
    const ids = [...outstanding];
    outstanding.clear();
    await Promise.all(
      ids.map((requestId) => client.report({ requestId, outcome: routerV1.Outcome.SUCCESS })),
    );
  };
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as StrataError,
    );

  beforeAll(async () => {
    await Promise.all([llamaA.start(), llamaB.start(), qwen.start()]);
    await qwen.stop(); // configured but never reachable
    router = await run(
      {
        grpc: { host: "127.0.0.1", port: 0 },
        ops: { port: 0 },
        endpoints: [
          { id: "llama-a", url: llamaA.url, model: "llama", aliases: ["default"] },
          { id: "llama-b", url: `${llamaB.url}/`, model: "llama" },
          { id: "qwen-a", url: qwen.url, model: "qwen" },
        ],
        health: { intervalMs: 40, timeoutMs: 300, backoffMaxMs: 160 },
      },
      { logger: silentLogger(), registry },
    );
    client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${router.grpcPort}`);
  });

  afterAll(async () => {
    client?.close();
    await router?.close();
    await Promise.all([llamaA.stop(), llamaB.stop(), qwen.stop()]);
  });

  it("is ready after run() resolves: the first health round already happened", async () => {
    expect(llamaA.healthChecks).toBeGreaterThan(0);
    const ready = await fetch(`http://127.0.0.1:${router.opsPort}/readyz`);
    expect(ready.status).toBe(200);
    const response = await route("llama");
    expect(["llama-a", "llama-b"]).toContain(response.endpoint?.id);
    await reportAll();
  });

  it("answers the same through its in-process client, and leaves candidates out when asked", async () => {
    const direct = router.inProcessClient;
    const full = await direct.route({ requestId: "in-process-1", model: "llama" });
    expect(full.$typeName).toBe("strata.router.v1.RouteResponse");
    const eligible = full.candidates.filter((candidate) => candidate.eligible);
    expect(eligible.map((candidate) => candidate.endpointId).sort()).toEqual(["llama-a", "llama-b"]);
    const brief = await direct.route({ requestId: "in-process-2", model: "llama", omitCandidates: true });
    expect(brief.candidates).toEqual([]);
    expect(brief.reason).not.toBe("");
    expect(["llama-a", "llama-b"]).toContain(brief.endpoint?.id);
    const failure = await direct.route({ requestId: "in-process-3", model: "nope" }).catch((error) => error);
    expect(failure).toMatchObject({ code: "model_not_found" });
    for (const requestId of ["in-process-1", "in-process-2"])
      await direct.report({ requestId, outcome: routerV1.Outcome.SUCCESS });
  });

  it("spreads concurrent requests across endpoints and frees them on Report", async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, index) => index).map(() => route("default")),
    );
    const counts = new Map<string, number>();
    for (const response of responses)
      counts.set(response.endpoint!.id, (counts.get(response.endpoint!.id) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ "llama-a": 5, "llama-b": 5 });
    expect(responses[0]!.model).toBe("llama");
    const endpointB = responses.find((response) => response.endpoint?.id === "llama-b")!.endpoint;
    expect(endpointB).toMatchObject({ url: llamaB.url, servedModel: "llama", api: "openai" });
    const metricsUrl = `http://127.0.0.1:${router.opsPort}/metrics`;
    expect(await (await fetch(metricsUrl)).text()).toContain(
      'strata_router_endpoint_in_flight{endpoint="llama-a"} 5',
    );
    await reportAll();
    expect(await (await fetch(metricsUrl)).text()).toContain(
      'strata_router_endpoint_in_flight{endpoint="llama-a"} 0',
    );
  });

  it("steers away from an engine that reports load in /metrics", async () => {
    llamaA.load = { running: 6, waiting: 2, kvCacheUsage: 0.8 };
    try {
      await eventually(async () => {
        const response = await route("llama");
        await reportAll();
        const candidate = response.candidates.find((entry) => entry.endpointId === "llama-a");
        expect(candidate).toMatchObject({ queueDepth: 2, kvCacheUsage: 0.8 });
        // kv-aware (the default): 2 queued × (5 ms + 512 tokens × 0.1 ms) + 5 ms + 6 running × 0.2 ms,
        // plus 100 ms for load 8 + 1 over the minimum load cap of 8.
        expect(candidate?.score).toBeCloseTo(218.6, 6);
        expect(candidate?.reason).toMatch(/^est\. TTFT 119 ms: queue 2 × 56 ms/);
      });
      const picks = await Promise.all([route("llama"), route("llama"), route("llama")]);
      expect(picks.map((response) => response.endpoint?.id)).toEqual(["llama-b", "llama-b", "llama-b"]);
      expect(picks[0]!.reason).toMatch(
        /^kv-aware: est\. TTFT [\d.]+ ms \(no cached prefix \(0 blocks\) anywhere/,
      );
    } finally {
      llamaA.load = { running: 0, waiting: 0, kvCacheUsage: 0 };
      await reportAll();
    }
  });

  it("excludes an engine that goes down and takes it back when it recovers", async () => {
    await llamaA.stop();
    await eventually(async () => {
      const models = await client.listModels({});
      expect(models.models.find((model) => model.id === "llama")?.healthyEndpoints).toBe(1);
    });
    const picks = await Promise.all([route("llama"), route("llama"), route("llama")]);
    expect(new Set(picks.map((response) => response.endpoint?.id))).toEqual(new Set(["llama-b"]));
    const excluded = picks[0]!.candidates.find((entry) => entry.endpointId === "llama-a");
    expect(excluded?.eligible).toBe(false);
    expect(excluded?.reason).toMatch(/^unhealthy: /);
    await reportAll();

    await llamaA.start();
    await eventually(async () => {
      const models = await client.listModels({});
      expect(models.models.find((model) => model.id === "llama")?.healthyEndpoints).toBe(2);
    });
  });

  it("treats a /health that answers an error status as a failed check", async () => {
    llamaB.healthStatus = 503;
    try {
      await eventually(async () => {
        const response = await route("llama");
        await reportAll();
        const candidate = response.candidates.find((entry) => entry.endpointId === "llama-b");
        expect(candidate).toMatchObject({ eligible: false, reason: "unhealthy: /health answered 503" });
      });
    } finally {
      llamaB.healthStatus = 200;
    }
    await eventually(async () => {
      const models = await client.listModels({});
      expect(models.models.find((model) => model.id === "llama")?.healthyEndpoints).toBe(2);
    });
  });

  it("answers NOT_FOUND for an unknown model and INVALID_ARGUMENT for none", async () => {
    const unknown = await failure(route("gpt-nope"));
    expect(unknown).toBeInstanceOf(StrataError);
    expect(unknown).toMatchObject({ code: "model_not_found", grpcStatus: 5, param: "model" });
    const empty = await failure(route(""));
    expect(empty).toMatchObject({ code: "invalid_request", grpcStatus: 3, param: "model" });
  });

  it("answers UNAVAILABLE when the model has no healthy endpoint", async () => {
    const error = await failure(route("qwen"));
    expect(error).toMatchObject({ code: "no_healthy_upstream", grpcStatus: 14, retryable: true });
    const metrics = await registry.metrics();
    expect(metrics).toContain('strata_router_route_errors_total{code="no_healthy_upstream"} 1');
  });

  it("lists models with endpoint and healthy counts", async () => {
    const response = await client.listModels({});
    expect(
      response.models.map(({ id, endpoints, healthyEndpoints, ownedBy }) => ({
        id,
        endpoints,
        healthyEndpoints,
        ownedBy,
      })),
    ).toEqual([
      { id: "llama", endpoints: 2, healthyEndpoints: 2, ownedBy: "strata" },
      { id: "qwen", endpoints: 1, healthyEndpoints: 0, ownedBy: "strata" },
    ]);
  });
});
