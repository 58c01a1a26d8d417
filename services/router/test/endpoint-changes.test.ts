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
import { followEndpointChanges } from "../src/endpoints/follow-endpoint-changes.js";
import { HealthChecker } from "../src/endpoints/health-checker.js";
import { outlierDetectionSchema } from "../src/endpoints/outlier-config.js";
import { OutlierDetector } from "../src/endpoints/outlier-detector.js";
import { kvEventsRouterSchema } from "../src/kv-events/config.js";
import { createKvEventsRuntime, type KvEventsRuntime } from "../src/kv-events/kv-events-runtime.js";
import { endpoint, ManualClock, testPolicy } from "./support/router-fixture.js";

const within = { timeoutMs: 15_000, intervalMs: 10 };
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
    kvEventsReplayEndpoint: "tcp://127.0.0.1:0",
  });
  closers.push(() => sim.close());
  return sim;
}

async function complete(sim: EngineSim, prompt: string): Promise<void> {
  const response = await fetch(`${sim.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt, max_tokens: 1 }),
  });
  expect(response.status).toBe(200);
  await response.text();
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
  const stop = followEndpointChanges({
    table,
    checker,
    router: { endpointsChanged: () => strategyUpdates++ },
    outliers,
    kv,
    logger: silentLogger(),
  });
  return { table, probed, kv, stop, strategyUpdates: () => strategyUpdates };
}

describe("following endpoint changes", () => {
  it("subscribes to a new engine's KV events and forgets them when it leaves", async () => {
    const sim = await publishingEngine();
    const { table, probed, kv, strategyUpdates } = setup();
    const withEvents = endpoint("sim", "sim-llama", {
      url: sim.url,
      kvEvents: {
        endpoint: `tcp://127.0.0.1:${sim.kvEvents!.port}`,
        replayEndpoint: `tcp://127.0.0.1:${sim.kvEvents!.replayPort}`,
        topic: "",
      },
    });
    table.replace([withEvents, endpoint("plain", "sim-llama")]);
    expect(strategyUpdates()).toBe(1);
    await waitFor(() => probed.includes("sim") && probed.includes("plain"), within);
    await waitFor(() => kv.pool.get("sim")?.connected === true, within);
    expect(kv.pool.get("plain")).toBeUndefined();
    await complete(sim, "word ".repeat(200));
    // A batch published before the subscription reached the engine is recovered from its replay
    // socket once a later one arrives, so publish until one has and the index agrees with the engine.
    let turn = 0;
    await waitFor(async () => {
      if ((kv.pool.get("sim")?.stats.batches ?? 0) === 0) await complete(sim, `turn ${++turn} `.repeat(40));
      return kv.index.blockCount("sim") === sim.model.snapshot().cachedBlocks;
    }, within);
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

  it("stops following once stopped, so a change during shutdown reopens nothing", async () => {
    const sim = await publishingEngine();
    const { table, probed, kv, stop, strategyUpdates } = setup();
    stop();
    table.replace([
      endpoint("sim", "sim-llama", {
        url: sim.url,
        kvEvents: { endpoint: `tcp://127.0.0.1:${sim.kvEvents!.port}`, topic: "" },
      }),
    ]);
    // A pool sync would open the subscription within microtasks: one turn of the loop shows it did not.
    await new Promise((resolve) => setImmediate(resolve));
    expect(strategyUpdates()).toBe(0);
    expect(kv.pool.get("sim")).toBeUndefined();
    expect(probed).toEqual([]);
  });
});
