/**
 * What follows the endpoint list when it changes: health checks start and stop, strategies hear of
 * it, and KV-event subscriptions are opened for new engines and closed (their blocks forgotten) for
 * engines that left. The KV side runs against a real engine-sim publishing over ZMQ.
 */
import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { silentLogger } from "@strata/kit";
import { waitFor } from "@strata/kit/testing";
import { afterEach, describe, expect, it } from "vitest";
import { EndpointTable } from "../src/endpoints/endpoint-table.js";
import { HealthChecker } from "../src/endpoints/health-checker.js";
import { outlierDetectionSchema } from "../src/endpoints/outlier-config.js";
import { OutlierDetector } from "../src/endpoints/outlier-detector.js";
import { kvEventsRouterSchema } from "../src/kv-events/config.js";
import { createKvEventsRuntime, type KvEventsRuntime } from "../src/kv-events/kv-events-runtime.js";
import { followEndpointChanges } from "../src/run-parts.js";
import { endpoint, ManualClock, testPolicy } from "./support/router-fixture.js";

const within = { timeoutMs: 5_000, intervalMs: 10 };
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function publishingEngine(): Promise<EngineSim> {
  const sim = await startEngineSim({
    port: 0,
    host: "127.0.0.1",
    logLevel: "silent",
    timeScale: 0,
    randomOutputMinTokens: 1,
    randomOutputMaxTokens: 1,
    kvEvents: true,
    kvEventsEndpoint: "tcp://127.0.0.1:0",
  });
  closers.push(() => sim.close());
  return sim;
}

function setup() {
  const table = new EndpointTable([], testPolicy);
  const probed: string[] = [];
  const checker = new HealthChecker({
    table,
    probe: async (config) => {
      probed.push(config.id);
      return { healthy: true };
    },
    logger: silentLogger(),
  });
  closers.push(() => checker.close());
  let strategyUpdates = 0;
  const kv: KvEventsRuntime = createKvEventsRuntime(kvEventsRouterSchema.parse({}), silentLogger());
  closers.push(() => kv.pool.close());
  const outliers = new OutlierDetector(outlierDetectionSchema.parse({}), { table, clock: new ManualClock() });
  followEndpointChanges({
    table,
    checker,
    router: { endpointsChanged: () => strategyUpdates++ },
    outliers,
    kv,
    logger: silentLogger(),
  });
  return { table, probed, kv, strategyUpdates: () => strategyUpdates };
}

describe("following endpoint changes", () => {
  it("subscribes to a new engine's KV events and forgets them when it leaves", async () => {
    const sim = await publishingEngine();
    const { table, probed, kv, strategyUpdates } = setup();
    const withEvents = endpoint("sim", "sim-llama", {
      url: sim.url,
      kvEvents: { endpoint: `tcp://127.0.0.1:${sim.kvEvents!.port}`, topic: "" },
    });
    table.replace([withEvents, endpoint("plain", "sim-llama")]);
    expect(strategyUpdates()).toBe(1);
    await waitFor(() => probed.includes("sim") && probed.includes("plain"), within);
    await waitFor(() => kv.pool.get("sim")?.connected === true, within);
    expect(kv.pool.get("plain")).toBeUndefined();
    // Give the subscription a moment to be registered at the publisher before it publishes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const response = await fetch(`${sim.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "word ".repeat(200), max_tokens: 1 }),
    });
    expect(response.status).toBe(200);
    await response.text();
    await waitFor(() => kv.index.blockCount("sim") === sim.model.snapshot().cachedBlocks, within);
    expect(kv.index.blockCount("sim")).toBeGreaterThan(0);

    // Same list again: nothing restarts.
    const subscriber = kv.pool.get("sim");
    table.replace([withEvents, endpoint("plain", "sim-llama")]);
    expect(kv.pool.get("sim")).toBe(subscriber);

    table.replace([endpoint("plain", "sim-llama")]);
    expect(strategyUpdates()).toBe(3);
    await waitFor(() => kv.pool.get("sim") === undefined && kv.index.blockCount("sim") === 0, within);
    const checksBefore = probed.filter((id) => id === "sim").length;
    await new Promise((resolve) => setTimeout(resolve, 3 * testPolicy.intervalMs));
    expect(probed.filter((id) => id === "sim").length).toBe(checksBefore);
  });
});
