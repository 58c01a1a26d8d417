import { silentLogger } from "@strata/kit";
import { describe, expect, it } from "vitest";
import {
  buildDiscoveredState,
  DemandRecorder,
  DiscoveredModelRouter,
  DiscoveredRouting,
  demandAnnotation,
  type StaticNames,
} from "../src/discovery/index.js";
import { EndpointTable } from "../src/endpoints/endpoint-table.js";
import { ModelRouter } from "../src/models/index.js";
import { testPolicy } from "./support/router-fixture.js";

const noStatic: StaticNames = { endpointNames: new Map(), routingNames: new Set() };

function md(name: string, scaleToZero: boolean, degraded = false) {
  return {
    metadata: { name, namespace: "prod" },
    spec: {
      model: { name: "sleepy", source: "hf://org/model" },
      engine: { kind: "sim" },
      autoscaling: { minReplicas: 1, maxReplicas: 2, scaleToZero },
    },
    status: { conditions: [{ type: "Degraded", status: degraded ? "True" : "False" }] },
  };
}

/** Records what the router asks to be woken, as the API server would receive it. */
class RecordedDemand {
  readonly recorded: string[][] = [];
  record(keys: readonly string[]): void {
    this.recorded.push([...keys]);
  }
}

function resolverFor(deployments: unknown[]) {
  const table = new EndpointTable([], testPolicy);
  const routing = new DiscoveredRouting();
  const state = buildDiscoveredState(deployments, [], noStatic);
  routing.update(state);
  table.replace(state.endpoints);
  const base = ModelRouter.create({}, { isServed: (name) => routing.resolveName(name) !== undefined });
  const demand = new RecordedDemand();
  return { router: new DiscoveredModelRouter(base, routing, table, demand), demand };
}

function failure(resolve: () => unknown): unknown {
  try {
    resolve();
  } catch (error) {
    return error;
  }
  throw new Error("expected the resolution to fail");
}

describe("a model scaled to zero", () => {
  it("answers model_scaling_up and asks its ModelDeployments for a replica", () => {
    const { router, demand } = resolverFor([md("a", true), md("b", true), md("c", false)]);
    const error = failure(() => router.resolveSync({ model: "sleepy", prompt: "hi" } as never));
    expect(error).toMatchObject({
      code: "model_scaling_up",
      retryable: true,
      message: 'model "sleepy" is scaled to zero: a replica is starting, retry shortly',
    });
    expect(demand.recorded).toEqual([["prod/a", "prod/b"]]);
  });

  it("stays no_healthy_upstream when it cannot scale to zero, or the operator reports it degraded", () => {
    for (const deployments of [[md("c", false)], [md("d", true, true)]]) {
      const { router, demand } = resolverFor(deployments);
      const error = failure(() => router.resolveSync({ model: "sleepy", prompt: "hi" } as never));
      expect(error).toMatchObject({ code: "no_healthy_upstream" });
      expect(demand.recorded).toEqual([]);
    }
  });
});

describe("DemandRecorder", () => {
  it("annotates each ModelDeployment at most once per interval, and again after it", async () => {
    let now = Date.parse("2026-03-01T10:00:00Z");
    const patches: Array<{ key: string; body: unknown }> = [];
    const results: string[] = [];
    const recorder = new DemandRecorder({
      patch: async (namespace, name, body) => {
        patches.push({ key: `${namespace}/${name}`, body });
        if (name === "forbidden") throw new Error("403 Forbidden");
      },
      intervalMs: 5_000,
      now: () => now,
      onWrite: (result) => results.push(result),
      logger: silentLogger(),
    });
    recorder.record(["prod/a", "prod/forbidden"]);
    now += 4_999;
    recorder.record(["prod/a", "prod/forbidden"]);
    now += 1;
    recorder.record(["prod/a"]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(patches).toEqual([
      {
        key: "prod/a",
        body: { metadata: { annotations: { [demandAnnotation]: "2026-03-01T10:00:00.000Z" } } },
      },
      { key: "prod/forbidden", body: expect.anything() },
      {
        key: "prod/a",
        body: { metadata: { annotations: { [demandAnnotation]: "2026-03-01T10:00:05.000Z" } } },
      },
    ]);
    expect(results.sort()).toEqual(["failed", "written", "written"]);
  });
});
