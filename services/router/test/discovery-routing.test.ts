import { Registry, StrataError, silentLogger } from "@strata/kit";
import { describe, expect, it } from "vitest";
import type { EndpointConfig } from "../src/config.js";
import {
  buildDiscoveredState,
  DiscoveredModelRouter,
  DiscoveredRouting,
  DiscoveredStrategies,
  type StaticNames,
  withDiscoveredModels,
} from "../src/discovery/index.js";
import { EndpointTable } from "../src/endpoints/endpoint-table.js";
import { InFlightTracker } from "../src/endpoints/in-flight-tracker.js";
import { ModelRouter } from "../src/models/index.js";
import { createRouterMetrics } from "../src/observability/router-metrics.js";
import { Router } from "../src/routing/router.js";
import { createStrategy } from "../src/scoring/strategy-registry.js";
import { StrategySelector } from "../src/scoring/strategy-selector.js";
import { endpoint, ManualClock, testPolicy } from "./support/router-fixture.js";

function md(name: string, model: string, routing: Record<string, unknown> = {}, adapters: string[] = []) {
  return {
    metadata: { name, namespace: "prod" },
    spec: {
      model: { name: model, source: "hf://org/model" },
      engine: { kind: "sim" },
      adapters: adapters.map((adapter) => ({ name: adapter, source: "hf://org/adapter" })),
      routing,
    },
  };
}

function slice(service: string, ips: string[]) {
  return {
    metadata: { name: service, namespace: "prod", labels: { "kubernetes.io/service-name": service } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8000 }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  };
}

/** A Router over real collaborators with the discovery layers run.ts puts in, fed by `publish`. */
function discoveryFixture(configured: EndpointConfig[] = [], models: unknown = {}) {
  const table = new EndpointTable(configured, testPolicy);
  const routing = new DiscoveredRouting();
  const staticNames: StaticNames = { endpointNames: new Map(), routingNames: new Set() };
  const publish = (deployments: unknown[], slices: unknown[]) => {
    const state = buildDiscoveredState(deployments, slices as never, staticNames);
    routing.update(state);
    table.replace([...configured, ...state.endpoints]);
    for (const entry of table.all()) entry.health.checkPassed();
    return state;
  };
  const base = ModelRouter.create(models, {
    isServed: (name) => table.resolveModel(name) !== undefined || routing.resolveName(name) !== undefined,
  });
  const routingConfig = { defaultStrategy: "least-load", params: {}, models: {} };
  const strategies = new DiscoveredStrategies(
    new StrategySelector(routingConfig),
    routingConfig,
    routing,
    (name) => createStrategy(name),
  );
  const router = new Router({
    table,
    inFlight: new InFlightTracker(60_000, new ManualClock()),
    strategies,
    models: new DiscoveredModelRouter(base, routing, table),
    metrics: createRouterMetrics(new Registry(), {
      table,
      inFlight: new InFlightTracker(60_000, new ManualClock()),
    }),
    logger: silentLogger(),
  });
  table.onEndpointsChanged(() => router.endpointsChanged());
  let requests = 0;
  const route = (model: string) =>
    router.route({ requestId: `r${++requests}`, model, tenantId: "t", prompt: "hi", promptTokens: 1 });
  return { table, routing, publish, router, route, service: withDiscoveredModels(router, routing) };
}

describe("routing with discovered settings", () => {
  it("routes a deployment's aliases and tier to its model, with its fallbacks as served models", () => {
    const { publish, route } = discoveryFixture();
    publish(
      [
        md("small", "small-model", {
          tier: "small",
          aliases: ["chat"],
          fallbacks: ["large", "gone", "small"],
        }),
        md("large", "large-model", { tier: "large" }),
      ],
      [slice("small", ["10.0.0.1"]), slice("large", ["10.0.0.2"])],
    );
    const byAlias = route("chat");
    expect(byAlias).toMatchObject({ model: "small-model", fallbacks: ["large-model"] });
    expect(byAlias.endpoint?.id).toBe("prod/small/10.0.0.1:8000");
    expect(route("small")).toMatchObject({
      model: "small-model",
      modelReason: 'tier "small"',
      fallbacks: ["large-model"],
    });
    expect(route("large")).toMatchObject({ model: "large-model", fallbacks: [] });
  });

  it("answers unavailable, not unknown, while a deployment has no ready replica, and unknown once it is deleted", () => {
    const { publish, route } = discoveryFixture();
    publish([md("m", "model-m", { aliases: ["mm"] })], []);
    for (const name of ["model-m", "mm"]) {
      const error = (() => {
        try {
          route(name);
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(StrataError);
      expect(error).toMatchObject({ code: "no_healthy_upstream", retryable: true });
    }
    publish([], []);
    expect(() => route("model-m")).toThrow(expect.objectContaining({ code: "model_not_found" }));
  });

  it("keeps configured names ahead of discovered tiers", () => {
    const { publish, route } = discoveryFixture([endpoint("static", "configured-model")], {
      tiers: { small: { model: "configured-model" } },
    });
    publish([md("small", "small-model", { tier: "small" })], [slice("small", ["10.0.0.1"])]);
    expect(route("small").model).toBe("configured-model");
    expect(route("small-model").model).toBe("small-model");
  });

  it("uses the deployment's strategy per model and a new instance when it changes", () => {
    const { publish, route } = discoveryFixture();
    publish([md("m", "m", { strategy: "round-robin" })], [slice("m", ["10.0.0.1", "10.0.0.2"])]);
    const first = route("m");
    expect(first.strategy).toBe("round-robin");
    expect(new Set([first.endpoint?.id, route("m").endpoint?.id]).size).toBe(2);
    publish([md("m", "m", { strategy: "prefix-hash" })], [slice("m", ["10.0.0.1", "10.0.0.2"])]);
    expect(route("m").strategy).toBe("prefix-hash");
    publish([md("m", "m")], [slice("m", ["10.0.0.1", "10.0.0.2"])]);
    expect(route("m").strategy).toBe("least-load");
  });

  it("lists deployments' models with prices, their aliases and tiers, and models with no ready replica", () => {
    const { publish, service } = discoveryFixture([endpoint("static", "configured")]);
    publish(
      [
        md(
          "a",
          "model-a",
          { aliases: ["alias-a"], tier: "fast", price: { inputPerMillion: 1, outputPerMillion: 2 } },
          ["lora-a"],
        ),
        md("b", "model-b", { price: { outputPerMillion: 3, cachedInputPerMillion: 0.1 } }),
      ],
      [slice("a", ["10.0.0.1", "10.0.0.2"])],
    );
    const priceA = { inputPerMillion: 1, outputPerMillion: 2 };
    expect(service.listModels()).toEqual([
      { id: "configured", endpoints: 1, healthyEndpoints: 1, ownedBy: "strata" },
      { id: "model-a", endpoints: 2, healthyEndpoints: 2, ownedBy: "strata", price: priceA },
      { id: "lora-a", endpoints: 2, healthyEndpoints: 2, ownedBy: "strata", price: priceA },
      {
        id: "model-b",
        endpoints: 0,
        healthyEndpoints: 0,
        ownedBy: "strata",
        price: { inputPerMillion: 0, outputPerMillion: 3, cachedInputPerMillion: 0.1 },
      },
      {
        id: "alias-a",
        aliasOf: "model-a",
        endpoints: 2,
        healthyEndpoints: 2,
        ownedBy: "strata",
        price: priceA,
      },
      { id: "fast", aliasOf: "model-a", endpoints: 2, healthyEndpoints: 2, ownedBy: "strata", price: priceA },
    ]);
  });
});
