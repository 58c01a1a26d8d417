import { routerV1 } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { endpoint, routerFixture } from "./support/router-fixture.js";

let nextId = 0;
const requestId = () => `req-${++nextId}`;
const route = (router: ReturnType<typeof routerFixture>["router"], model: string, id = requestId()) =>
  router.route({ requestId: id, model, tenantId: "t1", prompt: "", promptTokens: 0 });

describe("least-load routing", () => {
  it("rotates among tied endpoints instead of always taking the first", () => {
    const { router, inFlight } = routerFixture([endpoint("a", "m"), endpoint("b", "m"), endpoint("c", "m")]);
    const chosen: string[] = [];
    for (let index = 0; index < 6; index++) {
      const id = requestId();
      chosen.push(route(router, "m", id).endpoint!.id!);
      inFlight.end(id); // keep loads equal so every pick is a tie
    }
    expect(chosen).toEqual(["a", "b", "c", "a", "b", "c"]);
  });

  it("counts its own in-flight requests, so a burst spreads before engine metrics move", () => {
    const { router } = routerFixture([endpoint("a", "m"), endpoint("b", "m")]);
    const chosen = Array.from({ length: 4 }, () => route(router, "m").endpoint!.id);
    expect(chosen.sort()).toEqual(["a", "a", "b", "b"]);
  });

  it("picks the endpoint with the least weighted in-flight + waiting + running, and explains why", () => {
    const { router, state } = routerFixture([endpoint("a", "m"), endpoint("b", "m"), endpoint("c", "m")]);
    state("a").load = { running: 4, waiting: 0, kvCacheUsage: 0.5 };
    state("b").load = { running: 2, waiting: 0, kvCacheUsage: 0.1 };
    state("c").load = { running: 0, waiting: 3, kvCacheUsage: 0.2 };
    const response = route(router, "m");
    expect(response.endpoint).toMatchObject({
      id: "b",
      url: "http://b.test:8000",
      servedModel: "m",
      api: "openai",
    });
    expect(response.strategy).toBe("least-load");
    expect(response.reason).toBe("least load 2 of 3 healthy: in-flight 0, waiting 0, running 2");
    expect(response.candidates?.map((candidate) => [candidate.endpointId, candidate.score])).toEqual([
      ["a", 4],
      ["b", 2],
      ["c", 3],
    ]);
    expect(response.candidates?.[2]).toMatchObject({ queueDepth: 3, kvCacheUsage: 0.2, eligible: true });
  });

  it("applies the configured weights", () => {
    const { router, state } = routerFixture([endpoint("a", "m"), endpoint("b", "m")], {
      params: { weights: { inFlight: 1, waiting: 10, running: 1 } },
    });
    state("a").load = { running: 5, waiting: 0, kvCacheUsage: undefined };
    state("b").load = { running: 0, waiting: 1, kvCacheUsage: undefined };
    expect(route(router, "m").endpoint!.id).toBe("a");
  });

  it("filters unhealthy and other-model endpoints, saying why", () => {
    const { router, state } = routerFixture([endpoint("a", "m"), endpoint("b", "m"), endpoint("x", "other")]);
    state("a").health.checkFailed("ECONNREFUSED");
    state("a").health.checkFailed("ECONNREFUSED");
    state("b").load = { running: 50, waiting: 50, kvCacheUsage: 0.9 };
    const response = route(router, "m");
    expect(response.endpoint!.id).toBe("b");
    const byId = new Map(response.candidates!.map((candidate) => [candidate.endpointId, candidate]));
    expect(byId.get("a")).toMatchObject({ eligible: false, reason: "unhealthy: ECONNREFUSED" });
    expect(byId.get("x")).toMatchObject({ eligible: false, reason: "serves other, not m" });
    expect(byId.get("b")).toMatchObject({ eligible: true });
  });

  it("does not route to an endpoint whose health is not yet known", () => {
    const { router, state } = routerFixture([endpoint("a", "m")], { markHealthy: false });
    expect(state("a").health.status).toBe("unknown");
    expect(() => route(router, "m")).toThrow(expect.objectContaining({ code: "no_healthy_upstream" }));
    state("a").health.checkPassed();
    expect(route(router, "m").endpoint!.id).toBe("a");
  });

  it("resolves aliases to the served model", () => {
    const { router } = routerFixture([
      endpoint("a", "llama-3.1-8b-instruct", { aliases: ["llama", "default"] }),
    ]);
    const response = route(router, "default");
    expect(response.model).toBe("llama-3.1-8b-instruct");
    expect(response.endpoint!.servedModel).toBe("llama-3.1-8b-instruct");
  });

  it("rejects an empty model, an unknown model and a model with no healthy endpoint with distinct codes", () => {
    const { router, state } = routerFixture([endpoint("a", "m")]);
    expect(() => route(router, "")).toThrow(
      expect.objectContaining({ code: "invalid_request", param: "model" }),
    );
    expect(() => route(router, "nope")).toThrow(
      expect.objectContaining({ code: "model_not_found", message: 'model "nope" is not served' }),
    );
    state("a").health.connectErrorReported();
    state("a").health.connectErrorReported();
    state("a").health.connectErrorReported();
    expect(() => route(router, "m")).toThrow(
      expect.objectContaining({
        code: "no_healthy_upstream",
        message: 'no healthy endpoint for model "m" (0 of 1 healthy)',
      }),
    );
  });

  it("requires a request id, since Report could not find the request otherwise", () => {
    const { router } = routerFixture([endpoint("a", "m")]);
    expect(() => route(router, "m", "")).toThrow(
      expect.objectContaining({ code: "invalid_request", param: "request_id" }),
    );
  });
});

describe("Report and in-flight accounting", () => {
  const report = (outcome: routerV1.Outcome, id: string) => ({ requestId: id, endpointId: "", outcome });

  it("decrements once per request: a repeated Report changes nothing", () => {
    const { router, inFlight } = routerFixture([endpoint("a", "m")]);
    const first = requestId();
    route(router, "m", first);
    route(router, "m");
    expect(inFlight.count("a")).toBe(2);
    router.report(report(routerV1.Outcome.SUCCESS, first));
    router.report(report(routerV1.Outcome.SUCCESS, first));
    expect(inFlight.count("a")).toBe(1);
  });

  it("re-routing the same request id moves it rather than counting it twice", () => {
    const { router, inFlight } = routerFixture([endpoint("a", "m"), endpoint("b", "m")]);
    const id = requestId();
    route(router, "m", id);
    route(router, "m", id);
    expect(inFlight.count("a") + inFlight.count("b")).toBe(1);
  });

  it("marks an endpoint unhealthy after K consecutive connect errors, counting each request once", () => {
    const { router, state } = routerFixture([endpoint("a", "m"), endpoint("b", "m")]);
    const ids = [requestId(), requestId(), requestId(), requestId(), requestId(), requestId()];
    for (const id of ids) route(router, "m", id);
    const toA = ids.filter((_, index) => index % 2 === 0);
    router.report(report(routerV1.Outcome.CONNECT_ERROR, toA[0]!));
    router.report(report(routerV1.Outcome.CONNECT_ERROR, toA[0]!));
    router.report(report(routerV1.Outcome.CONNECT_ERROR, toA[1]!));
    expect(state("a").health.status).toBe("healthy");
    router.report(report(routerV1.Outcome.CONNECT_ERROR, toA[2]!));
    expect(state("a").health.status).toBe("unhealthy");
    expect(route(router, "m").endpoint!.id).toBe("b");
  });

  it("a successful Report breaks a streak of connect errors", () => {
    const { router, state } = routerFixture([endpoint("a", "m")]);
    const ids = Array.from({ length: 4 }, () => requestId());
    for (const id of ids) route(router, "m", id);
    router.report(report(routerV1.Outcome.CONNECT_ERROR, ids[0]!));
    router.report(report(routerV1.Outcome.CONNECT_ERROR, ids[1]!));
    router.report(report(routerV1.Outcome.SUCCESS, ids[2]!));
    router.report(report(routerV1.Outcome.CONNECT_ERROR, ids[3]!));
    expect(state("a").health.status).toBe("healthy");
  });

  it("sweeps requests never reported back once the timeout passes", () => {
    const { router, inFlight, clock } = routerFixture([endpoint("a", "m")], { timeoutMs: 10_000 });
    const old = requestId();
    route(router, "m", old);
    clock.advance(6_000);
    route(router, "m");
    expect(inFlight.sweep()).toBe(0);
    clock.advance(4_000);
    expect(inFlight.sweep()).toBe(1);
    expect(inFlight.count("a")).toBe(1);
    router.report(report(routerV1.Outcome.SUCCESS, old)); // late Report of a swept request: no-op
    expect(inFlight.count("a")).toBe(1);
  });
});

describe("ListModels and metrics", () => {
  it("lists each served model with endpoint and healthy counts", () => {
    const { router, state } = routerFixture([endpoint("a", "m2"), endpoint("b", "m1"), endpoint("c", "m1")]);
    state("c").health.checkFailed("down");
    state("c").health.checkFailed("down");
    expect(router.listModels()).toEqual([
      { id: "m1", endpoints: 2, healthyEndpoints: 1, ownedBy: "strata" },
      { id: "m2", endpoints: 1, healthyEndpoints: 1, ownedBy: "strata" },
    ]);
  });

  it("exposes decisions, health, in-flight and reports", async () => {
    const { router, registry, state } = routerFixture([endpoint("a", "m"), endpoint("b", "m")]);
    state("b").health.checkFailed("down");
    state("b").health.checkFailed("down");
    const id = requestId();
    route(router, "m", id);
    route(router, "m");
    router.report({ requestId: id, endpointId: "a", outcome: routerV1.Outcome.CONNECT_ERROR });
    const text = await registry.metrics();
    expect(text).toContain(
      'strata_router_route_decisions_total{model="m",endpoint="a",strategy="least-load"} 2',
    );
    expect(text).toContain('strata_router_endpoint_healthy{endpoint="a",model="m"} 1');
    expect(text).toContain('strata_router_endpoint_healthy{endpoint="b",model="m"} 0');
    expect(text).toContain('strata_router_endpoint_in_flight{endpoint="a"} 1');
    expect(text).toContain('strata_router_reports_total{outcome="connect_error"} 1');
  });
});
