/**
 * The autoscaler's load source against a real engine-sim (vLLM's API and gauges): requests held open
 * on a slow engine are what it must count, running and waiting alike.
 */
import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { eventually, freePort } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sumGauges } from "../src/autoscaling/gauge-text.js";
import { EngineMetricsLoadSource } from "../src/autoscaling/load-source.js";
import type { EndpointStatus, ModelDeployment } from "../src/model-deployment/types.js";

function withEndpoints(engine: "sim" | "tgi", endpoints: EndpointStatus[]): ModelDeployment {
  return {
    metadata: { name: "loaded", namespace: "ns" },
    spec: { model: { name: "loaded", source: "hf://a/b" }, engine: { kind: engine } },
    status: { endpoints },
  };
}

describe("EngineMetricsLoadSource", () => {
  let engine: EngineSim;
  const requests = new AbortController();

  beforeAll(async () => {
    // Two sequences at a time and slow decoding: five long requests are two running and three waiting.
    engine = await startEngineSim({
      host: "127.0.0.1",
      port: 0,
      model: "loaded",
      maxNumSeqs: 2,
      decodeMsPerToken: 200,
      logLevel: "silent",
      shutdownGraceMs: 0,
    });
  });

  afterAll(async () => {
    requests.abort();
    await engine?.close();
  });

  it("counts the requests an engine runs and queues, and a replica it cannot read as missing", async () => {
    const source = new EngineMetricsLoadSource({ timeoutMs: 2_000 });
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    const md = withEndpoints("sim", [
      { name: "a", url: engine.url, ready: true },
      { name: "b", url: unreachable, ready: true },
      { name: "c", url: "http://192.0.2.1:8000", ready: false },
    ]);
    expect(await source.sample(md)).toMatchObject({ inFlight: 0, waiting: 0, replicas: 1, missing: 1 });
    for (let index = 0; index < 5; index++) {
      void fetch(`${engine.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "loaded", prompt: `request ${index}`, max_tokens: 1000, stream: true }),
        signal: requests.signal,
      }).catch(() => {});
    }
    await eventually(
      async () => {
        const sample = await source.sample(md);
        expect(sample).toMatchObject({ inFlight: 5, waiting: 3, replicas: 1, missing: 1 });
        expect(sample.failures).toEqual([expect.stringMatching(/^b: /)]);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  }, 60_000);

  it("calls a replica missing when its metrics lack the engine's load gauges", async () => {
    // engine-sim speaks vLLM's metrics; read as TGI it has none of TGI's gauges.
    const source = new EngineMetricsLoadSource({ timeoutMs: 2_000 });
    const sample = await source.sample(withEndpoints("tgi", [{ name: "a", url: engine.url, ready: true }]));
    expect(sample).toMatchObject({ replicas: 0, missing: 1 });
    expect(sample.failures[0]).toContain("has no tgi_batch_current_size and tgi_queue_size gauges");
  });
});

describe("sumGauges", () => {
  it("sums every sample of the named families, labels or not, and skips what it cannot read", () => {
    const text = [
      "# HELP vllm:num_requests_running Number of requests in model execution batches.",
      "# TYPE vllm:num_requests_running gauge",
      'vllm:num_requests_running{engine="0",model_name="base"} 3',
      'vllm:num_requests_running{engine="0",model_name="with } brace"} 2 1700000000000',
      "vllm:num_requests_waiting 4",
      "vllm:num_requests_waiting_total 100",
      'vllm:num_requests_running{engine="1" 9',
      "vllm:num_requests_running garbage",
    ].join("\n");
    const sums = sumGauges(text, ["vllm:num_requests_running", "vllm:num_requests_waiting", "absent"]);
    expect([...sums]).toEqual([
      ["vllm:num_requests_running", 5],
      ["vllm:num_requests_waiting", 4],
    ]);
  });
});
