import { createGrpcClient, createLogger, Registry, silentLogger } from "@strata/kit";
import { routerV1 } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { run } from "../src/index.js";
import { reportEjection } from "../src/observability/endpoint-events.js";
import { createRouterMetrics } from "../src/observability/router-metrics.js";
import { FakeEngine } from "./support/fake-engine.js";
import { endpoint, routerFixture } from "./support/router-fixture.js";

let nextId = 0;
type Fixture = ReturnType<typeof routerFixture>;

/** Routes one request and reports it with `outcome`; returns the endpoint it went to. */
function call(fixture: Fixture, outcome: routerV1.Outcome, model = "m"): string {
  const requestId = `req-${++nextId}`;
  const routed = fixture.router.route({ requestId, model, tenantId: "t", prompt: "", promptTokens: 0 });
  const endpointId = routed.endpoint!.id!;
  fixture.router.report({ requestId, endpointId, outcome });
  return endpointId;
}

/** Routes to `target` by keeping it the least loaded: the others get in-flight load first. */
function failOn(fixture: Fixture, target: string, times: number, outcome = routerV1.Outcome.UPSTREAM_ERROR) {
  for (let index = 0; index < times; index++) {
    for (const state of fixture.table.all()) {
      state.load = { running: state.config.id === target ? 0 : 100, waiting: 0, kvCacheUsage: 0 };
    }
    expect(call(fixture, outcome)).toBe(target);
  }
}

const settings = {
  consecutiveFailures: 3,
  baseEjectionMs: 10_000,
  maxEjectionMs: 40_000,
  maxEjectionPercent: 50,
};

describe("outlier ejection", () => {
  it("ejects after N consecutive failed reports, shows why in the candidates, and takes it back after the back-off", () => {
    const fixture = routerFixture([endpoint("a", "m"), endpoint("b", "m"), endpoint("c", "m")], {
      outliers: settings,
    });
    failOn(fixture, "a", 2);
    expect(fixture.ejections).toHaveLength(0);
    failOn(fixture, "a", 1, routerV1.Outcome.TIMEOUT);
    expect(fixture.ejections.map((ejection) => [ejection.endpoint.config.id, ejection.durationMs])).toEqual([
      ["a", 10_000],
    ]);

    for (const state of fixture.table.all()) state.load = { running: 0, waiting: 0, kvCacheUsage: 0 };
    const routed = fixture.router.route({
      requestId: "look",
      model: "m",
      tenantId: "t",
      prompt: "",
      promptTokens: 0,
    });
    fixture.router.report({
      requestId: "look",
      endpointId: routed.endpoint!.id!,
      outcome: routerV1.Outcome.SUCCESS,
    });
    expect(routed.endpoint!.id).not.toBe("a");
    const a = routed.candidates!.find((candidate) => candidate.endpointId === "a")!;
    expect(a.eligible).toBe(false);
    expect(a.reason).toBe(
      "ejected for 10 s more: 3 failed reports in a row (last timeout); ejection 1, 10 s",
    );

    fixture.clock.advance(10_000);
    const back = new Set(Array.from({ length: 6 }, () => call(fixture, routerV1.Outcome.SUCCESS)));
    expect(back.has("a")).toBe(true);
  });

  it("doubles the ejection when the endpoint fails again soon after returning, up to the cap", () => {
    const fixture = routerFixture([endpoint("a", "m"), endpoint("b", "m")], { outliers: settings });
    const durations: number[] = [];
    for (let round = 0; round < 4; round++) {
      failOn(fixture, "a", 3);
      durations.push(fixture.ejections.at(-1)!.durationMs);
      fixture.clock.advance(fixture.ejections.at(-1)!.durationMs);
    }
    expect(durations).toEqual([10_000, 20_000, 40_000, 40_000]);
    // Well-behaved for longer than its last ejection: the next one starts from the base again.
    fixture.clock.advance(60_000);
    failOn(fixture, "a", 3);
    expect(fixture.ejections.at(-1)!.durationMs).toBe(10_000);
  });

  it("a success in between resets the count; cancellations count neither way", () => {
    const fixture = routerFixture([endpoint("a", "m"), endpoint("b", "m")], { outliers: settings });
    failOn(fixture, "a", 2);
    failOn(fixture, "a", 1, routerV1.Outcome.SUCCESS);
    failOn(fixture, "a", 2, routerV1.Outcome.CONNECT_ERROR);
    failOn(fixture, "a", 3, routerV1.Outcome.CANCELLED);
    expect(fixture.ejections).toHaveLength(0);
    failOn(fixture, "a", 1, routerV1.Outcome.UPSTREAM_ERROR);
    expect(fixture.ejections).toHaveLength(1);
  });

  it("never ejects a model's last routable endpoint, nor more than the max ejection percent", () => {
    const single = routerFixture([endpoint("only", "m")], { outliers: settings });
    failOn(single, "only", 10);
    expect(single.ejections).toHaveLength(0);

    // Four endpoints at 50%: two may be out at once, the third stays in however it fails.
    const four = routerFixture(
      ["a", "b", "c", "d"].map((id) => endpoint(id, "m")),
      { outliers: settings },
    );
    failOn(four, "a", 3);
    failOn(four, "b", 3);
    failOn(four, "c", 6);
    expect(four.ejections.map((ejection) => ejection.endpoint.config.id)).toEqual(["a", "b"]);

    // Two endpoints, the other one unhealthy: ejecting this one would leave nothing.
    const pair = routerFixture([endpoint("a", "m"), endpoint("b", "m")], { outliers: settings });
    pair.state("b").health.checkFailed("down");
    pair.state("b").health.checkFailed("down");
    for (let index = 0; index < 5; index++) expect(call(pair, routerV1.Outcome.UPSTREAM_ERROR)).toBe("a");
    expect(pair.ejections).toHaveLength(0);
  });

  it("routes to ejected endpoints rather than to nothing, and says so", () => {
    const fixture = routerFixture([endpoint("a", "m"), endpoint("b", "m")], { outliers: settings });
    failOn(fixture, "a", 3);
    expect(fixture.ejections).toHaveLength(1);
    // b goes down after a was ejected: a is all there is.
    fixture.state("b").health.checkFailed("down");
    fixture.state("b").health.checkFailed("down");
    const routed = fixture.router.route({
      requestId: "last",
      model: "m",
      tenantId: "t",
      prompt: "",
      promptTokens: 0,
    });
    expect(routed.endpoint!.id).toBe("a");
    expect(routed.reason).toMatch(/every routable endpoint is ejected, ejections ignored$/);
  });

  it("counts and logs each ejection, and shows the ejected gauge while it lasts", async () => {
    const fixture = routerFixture([endpoint("a", "m"), endpoint("b", "m")], { outliers: settings });
    const registry = new Registry();
    const metrics = createRouterMetrics(registry, {
      table: fixture.table,
      inFlight: fixture.inFlight,
      outliers: fixture.outliers!,
    });
    const logged: Record<string, unknown>[] = [];
    const destination = { write: (line: string) => void logged.push(JSON.parse(line)) };
    const logger = createLogger({ service: "router-test", level: "warn", destination });
    failOn(fixture, "a", 3);
    for (const ejection of fixture.ejections) reportEjection(ejection, metrics, logger);
    const text = await registry.metrics();
    expect(text).toContain('strata_router_endpoint_ejections_total{endpoint="a",model="m"} 1');
    expect(text).toContain('strata_router_endpoint_ejected{endpoint="a"} 1');
    expect(text).toContain('strata_router_endpoint_ejected{endpoint="b"} 0');
    expect(logged).toEqual([
      expect.objectContaining({
        msg: "endpoint ejected",
        level: 40,
        endpoint: "a",
        model: "m",
        durationMs: 10_000,
        ejection: 1,
      }),
    ]);
    fixture.clock.advance(10_000);
    expect(await registry.metrics()).toContain('strata_router_endpoint_ejected{endpoint="a"} 0');
  });
});

describe("outlier ejection in the running router", () => {
  it("ejects an endpoint whose Reports keep failing over gRPC and counts it on /metrics", async () => {
    const engines = [new FakeEngine("m"), new FakeEngine("m")];
    await Promise.all(engines.map((engine) => engine.start()));
    const router = await run(
      {
        grpc: { host: "127.0.0.1", port: 0 },
        ops: { port: 0 },
        endpoints: engines.map((engine, index) => ({ id: `e${index}`, url: engine.url, model: "m" })),
        routing: { defaultStrategy: "round-robin" },
        outlierDetection: { consecutiveFailures: 2, maxEjectionPercent: 50 },
      },
      { logger: silentLogger(), registry: new Registry() },
    );
    const client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${router.grpcPort}`);
    try {
      // Round-robin alternates; every request to e0 fails, every one to e1 succeeds.
      for (let index = 0; index < 4; index++) {
        const routed = await client.route({ requestId: `g-${index}`, model: "m" });
        const failedOn = routed.endpoint!.id === "e0";
        const outcome = failedOn ? routerV1.Outcome.UPSTREAM_ERROR : routerV1.Outcome.SUCCESS;
        await client.report({ requestId: `g-${index}`, outcome });
      }
      const routed = await client.route({ requestId: "g-after", model: "m" });
      expect(routed.endpoint!.id).toBe("e1");
      expect(routed.candidates.find((candidate) => candidate.endpointId === "e0")!.reason).toMatch(
        /^ejected for 30 s more: 2 failed reports in a row \(last upstream-error\)/,
      );
      const text = await (await fetch(`http://127.0.0.1:${router.opsPort}/metrics`)).text();
      expect(text).toContain('strata_router_endpoint_ejections_total{endpoint="e0",model="m"} 1');
      expect(text).toContain('strata_router_endpoint_ejected{endpoint="e0"} 1');
    } finally {
      client.close();
      await router.close();
      await Promise.all(engines.map((engine) => engine.stop()));
    }
  });
});
