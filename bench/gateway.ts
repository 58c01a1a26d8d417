/**
 * What does the gateway cost? The same chat completion is sent straight to an engine-sim replica
 * (the baseline) and through the gateway (API key check, Route/Report to the router over gRPC,
 * engine call over undici, usage event and ledger write), in the same run, and compared as ratios.
 *
 * The platform (gateway, router, ledger) runs in this process, as `pnpm start` runs it; the engine and
 * the load generator each run in a child process, as they would on other machines in production.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, localConfigSchema, startLocal } from "@strata/cli";
import { silentLogger } from "@strata/kit";
import { startBareProxy } from "./lib/bare-proxy.js";
import { type EngineProcess, startEngineProcess } from "./lib/engine-process.js";
import { compare, type Scenario, type ScenarioResult, section } from "./lib/gateway-report.js";
import {
  type LoadGenerator as Load,
  LoadGenerator,
  type LoadSample,
  mergeSamples,
  summarize,
} from "./lib/load.js";
import { profiled } from "./lib/profile.js";
import { benchDir, environment, updateResultsMarkdown, writeJson } from "./lib/report.js";

const durationS = Number(process.env.BENCH_DURATION_S ?? 10);
const warmupS = Number(process.env.BENCH_WARMUP_S ?? 3);
const outputTokens = 16;

/**
 * Concurrency 1 shows the gateway's own per-request latency without queueing; 16 and 64 show it under
 * saturation, where latency is mostly time spent waiting for the (shared) server core.
 */
const scenarios: Scenario[] = [
  { name: "c1", connections: 1, stream: false },
  { name: "c16", connections: 16, stream: false },
  { name: "c64", connections: 64, stream: false },
  { name: "c16-stream", connections: 16, stream: true },
];

interface Target {
  url: string;
  headers: Record<string, string>;
}

export async function main(): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), "strata-bench-"));
  // A fixed output length makes every answer the same work; timeScale 0 answers instantly.
  const engine = await startEngineProcess({
    model: "strata-sim",
    "time-scale": 0,
    "random-output-min-tokens": outputTokens,
    "random-output-max-tokens": outputTokens,
    "log-level": "silent",
  });
  const platform = await boot(home, engine.url);
  const bareProxy = await startBareProxy(engine.url);
  const load = new LoadGenerator();
  try {
    const path = "/v1/chat/completions";
    const json = { "content-type": "application/json" };
    const direct: Target = { url: engine.url + path, headers: json };
    const proxy: Target = { url: bareProxy.url + path, headers: json };
    const gateway: Target = {
      url: platform.gatewayUrl + path,
      headers: { ...json, authorization: `Bearer ${platform.apiKey}` },
    };
    await checkAnswers(direct, gateway);
    log(`warming up ${warmupS} s per target`);
    for (const target of [direct, proxy, gateway])
      await measure(load, engine, target, scenarios[1]!, warmupS);

    if (process.env.BENCH_CPU_PROFILE) {
      // Only the gateway path, at the c16 load, so the profile shows where its time goes.
      const file = join(benchDir, "results", "gateway.cpuprofile");
      await profiled(file, () => measure(load, engine, gateway, scenarios[1]!, durationS));
      return;
    }

    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      const half = durationS / 2;
      // Two halves in mirrored order (direct, proxy, gateway, gateway, proxy, direct) cancel linear
      // drift (thermal, GC heap growth, ledger size) between the targets.
      const d1 = await measure(load, engine, direct, scenario, half);
      const p1 = await measure(load, engine, proxy, scenario, half);
      const g1 = await measure(load, engine, gateway, scenario, half);
      const g2 = await measure(load, engine, gateway, scenario, half);
      const p2 = await measure(load, engine, proxy, scenario, half);
      const d2 = await measure(load, engine, direct, scenario, half);
      const result = compare(
        scenario,
        summarize(mergeSamples([d1, d2])),
        summarize(mergeSamples([g1, g2])),
        summarize(mergeSamples([p1, p2])),
      );
      results.push(result);
      log(
        `${scenario.name}: direct ${result.direct.requestsPerSecond.toFixed(0)} req/s, gateway ${result.gateway.requestsPerSecond.toFixed(0)} req/s (×${result.throughputRatio.toFixed(2)}; bare proxy ${result.proxy.requestsPerSecond.toFixed(0)} req/s, gateway ÷ proxy ${result.proxyRatio.toFixed(2)}), added p50 ${result.addedP50Ms.toFixed(2)} ms, server CPU ${result.direct.serverCpuUsPerRequest.toFixed(0)} → ${result.gateway.serverCpuUsPerRequest.toFixed(0)} µs/req`,
      );
    }

    const run = {
      ...environment(),
      durationS,
      warmupS,
      outputTokens,
      engineReplicas: 1,
      engineProcess: true,
    };
    const jsonFile = await writeJson("gateway", { benchmark: "gateway", ...run, results });
    const markdown = section(run, results);
    const mdFile = await updateResultsMarkdown("gateway", markdown);
    console.log(`\n${markdown}\n\nwrote ${jsonFile} and ${mdFile}`);
  } finally {
    load.close();
    await bareProxy.close();
    await platform.close();
    await engine.stop();
    await rm(home, { recursive: true, force: true });
  }
}

/**
 * One engine replica, the external process: the gateway then always routes to the replica the baseline
 * calls directly, so both paths hit the same engine with the same (warm) prefix cache.
 */
async function boot(home: string, engineUrl: string): Promise<LocalPlatform> {
  const config = localConfigSchema.parse({
    home,
    gatewayPort: 0,
    gatewayGrpcPort: 0,
    routerPort: 0,
    engineReplicas: 0,
    logLevel: "silent",
  });
  return startLocal(config, silentLogger(), {
    extraEndpoints: [{ id: "engine-0", url: engineUrl, model: "strata-sim" }],
    gateway: { http: { host: "127.0.0.1", port: 0 } },
  });
}

function requestBody(stream: boolean): string {
  return JSON.stringify({
    model: "strata-sim",
    messages: [{ role: "user", content: "Summarise the plot of Hamlet in one sentence." }],
    max_tokens: outputTokens,
    // The gateway always asks the engine for usage; asking on both paths keeps the engine's work equal.
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

/** Server-side CPU of a run: this (platform) process plus the engine process. */
async function measure(
  load: Load,
  engine: EngineProcess,
  target: Target,
  scenario: Scenario,
  seconds: number,
): Promise<LoadSample> {
  const cpuBefore = process.cpuUsage();
  const engineBefore = await engine.cpuUs();
  const sample = await load.run({
    url: target.url,
    headers: target.headers,
    body: requestBody(scenario.stream),
    connections: scenario.connections,
    durationS: seconds,
  });
  const cpu = process.cpuUsage(cpuBefore);
  return { ...sample, serverCpuUs: cpu.user + cpu.system + (await engine.cpuUs()) - engineBefore };
}

/** Both paths must answer 200 with the same amount of output, or the comparison means nothing. */
async function checkAnswers(direct: Target, gateway: Target): Promise<void> {
  for (const [name, target] of Object.entries({ direct, gateway })) {
    const response = await fetch(target.url, {
      method: "POST",
      headers: target.headers,
      body: requestBody(false),
    });
    const body = (await response.json()) as { usage?: { completion_tokens?: number } };
    if (response.status !== 200 || body.usage?.completion_tokens !== outputTokens) {
      throw new Error(`${name} answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
    }
    const stream = await fetch(target.url, {
      method: "POST",
      headers: target.headers,
      body: requestBody(true),
    });
    const text = await stream.text();
    if (stream.status !== 200 || !text.includes("data: [DONE]")) {
      throw new Error(`${name} stream answered ${stream.status}: ${text.slice(0, 300)}`);
    }
  }
}

function log(message: string): void {
  console.log(`[bench gateway] ${message}`);
}
