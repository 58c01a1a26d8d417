/**
 * What does a gateway cost? The same chat completion goes straight to an engine-sim replica (the
 * baseline), through Strata with every step of its request path on, through the Portkey gateway from
 * npm, and through a bare Node proxy (the floor any Node gateway stands on), at concurrency 1, 16 and
 * 64, plain and streamed, in one run, and is compared as differences and ratios within that run.
 *
 * Each contender, the engine and the load generator run in processes of their own, as they would on
 * separate machines in production, so each one's CPU and memory are measured apart.
 */

import { execFile } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type EngineProcess, startEngineProcess } from "./lib/engine-process.js";
import {
  type CacheNumbers,
  type ContenderName,
  contenderNames,
  type LevelMeasurement,
  resultsJson,
  type SameRateBaseline,
  sameRateJson,
  section,
  targets,
  verdicts,
} from "./lib/gateway-report.js";
import { LoadGenerator, type LoadSample, mergeSamples, summarize } from "./lib/load.js";
import { portkeyVersion, startPortkey } from "./lib/portkey-server.js";
import { benchDir, environment, readJson, updateResultsMarkdown, writeJson } from "./lib/report.js";
import { forkServer, productRuntime, type ServerProcess } from "./lib/server-process.js";
import type { StrataStart } from "./lib/strata-server.js";

const durationS = Number(process.env.BENCH_DURATION_S ?? 8);
const warmupS = Number(process.env.BENCH_WARMUP_S ?? 4);
const outputTokens = 16;
const model = "strata-sim";
/** Concurrency 1 shows each contender's own per-request latency; 16 and 64 show it saturated. */
const levels = listFromEnv("BENCH_GATEWAY_LEVELS", ["c1", "c16", "c64"]);
const chosen = listFromEnv("BENCH_GATEWAY_CONTENDERS", [...contenderNames]) as ContenderName[];
const path = "/v1/chat/completions";
const execFileAsync = promisify(execFile);

interface Contender {
  name: ContenderName;
  url: string;
  headers: Record<string, string>;
  /** The contender's own process (none for direct: that is the engine). */
  server?: ServerProcess;
}

export async function main(): Promise<void> {
  const loadAverage1m = Math.round(loadavg()[0]! * 100) / 100;
  // A fixed output length makes every answer the same work; time scale 0 answers at once.
  const engine = await startEngineProcess({
    model,
    "time-scale": 0,
    "random-output-min-tokens": outputTokens,
    "random-output-max-tokens": outputTokens,
    "log-level": "silent",
  });
  const servers: ServerProcess[] = [];
  const load = new LoadGenerator();
  try {
    const contenders = await startContenders(engine, servers);
    await checkAnswers(contenders);
    const strata = contenders.find((contender) => contender.name === "strata");
    log(`warming up ${warmupS} s per contender`);
    for (const contender of contenders) {
      await measure(load, engine, contender, 16, false, warmupS / 2);
      await measure(load, engine, contender, 16, true, warmupS / 2);
    }
    if (process.env.BENCH_CPU_PROFILE && strata?.server) {
      await profileStrata(load, engine, strata);
      return;
    }

    const measured: Record<string, LevelMeasurement> = {};
    for (const level of levels) {
      const connections = Number(level.slice(1));
      measured[level] = {
        connections,
        plain: await measurePair(load, engine, contenders, connections, false),
        stream: await measurePair(load, engine, contenders, connections, true),
        memoryMb: await memoryOf(contenders),
        heapMb: strata?.server ? { strata: await heapOf(strata.server) } : {},
      };
      logLevel(level, measured[level]!);
    }
    const sameRate = await sameRateBaseline(load, engine, contenders, measured.c1);
    const ledgerRows = strata?.server ? await strata.server.ask<number>({ ledgerRows: true }) : undefined;
    const peakMemoryMb = Object.fromEntries(
      await Promise.all(
        contenders
          .filter((contender) => contender.server)
          .map(async (contender) => [contender.name, (await contender.server!.memory()).peakRssMb]),
      ),
    );
    const results = resultsJson(measured);
    const cache = await cacheNumbers();
    const run = {
      ...environment(),
      loadAverage1m,
      durationS,
      warmupS,
      outputTokens,
      portkeyVersion,
      embeddedPostgresMb: strata ? await embeddedPostgresFootprint() : undefined,
    };
    const jsonFile = await writeJson("gateway", {
      benchmark: "gateway",
      ...run,
      contenders: chosen,
      targets,
      results,
      verdicts: verdicts(results),
      peak_memory_mb: peakMemoryMb,
      strata_ledger_rows: ledgerRows,
      ...(sameRate ? { c1_same_rate_baseline: sameRate } : {}),
      ...(cache ? { cache } : {}),
    });
    const markdown = section(run, results, cache, sameRate);
    const mdFile = await updateResultsMarkdown("gateway", markdown);
    console.log(`\n${markdown}\n\nwrote ${jsonFile} and ${mdFile}`);
  } finally {
    load.close();
    await Promise.allSettled(servers.map((server) => server.stop()));
    await engine.stop();
  }
}

async function startContenders(engine: EngineProcess, servers: ServerProcess[]): Promise<Contender[]> {
  const wanted = (name: ContenderName) => chosen.includes(name);
  const started = await Promise.all([
    wanted("strata")
      ? forkServer(
          "strata",
          new URL("./lib/strata-server.ts", import.meta.url),
          { engineUrl: engine.url, model } satisfies StrataStart,
          // e.g. --trace-gc-nvp (with BENCH_SERVER_STDOUT=1) to see each scavenge's pause and promotion
          (process.env.BENCH_STRATA_NODE_FLAGS ?? "").split(" ").filter(Boolean),
        )
      : undefined,
    wanted("strata_grpc")
      ? forkServer("strata_grpc", new URL("./lib/strata-server.ts", import.meta.url), {
          engineUrl: engine.url,
          model,
          routerTransport: "grpc",
        } satisfies StrataStart)
      : undefined,
    wanted("portkey") ? startPortkey(engine.url) : undefined,
    wanted("node_proxy")
      ? forkServer("node_proxy", new URL("./lib/bare-proxy.ts", import.meta.url), { upstream: engine.url })
      : undefined,
  ]);
  const contenders: Contender[] = [];
  if (wanted("direct")) contenders.push({ name: "direct", url: engine.url, headers: {} });
  for (const server of started) {
    if (!server) continue;
    servers.push(server);
    contenders.push({
      name: server.name as ContenderName,
      url: server.url,
      headers: server.headers,
      server,
    });
  }
  return contenders;
}

/**
 * Each contender twice, for half the time each, in mirrored order: linear drift (the machine's
 * other load, heap growth, the ledger filling up) then weighs on every contender alike.
 */
async function measurePair(
  load: LoadGenerator,
  engine: EngineProcess,
  contenders: Contender[],
  connections: number,
  stream: boolean,
) {
  const half = durationS / 2;
  const samples = new Map<ContenderName, LoadSample[]>();
  for (const contender of [...contenders, ...[...contenders].reverse()]) {
    const sample = await measure(load, engine, contender, connections, stream, half);
    samples.set(contender.name, [...(samples.get(contender.name) ?? []), sample]);
  }
  return Object.fromEntries(
    [...samples].map(([name, parts]) => [name, summarize(mergeSamples(parts))]),
  ) as LevelMeasurement["plain"];
}

/**
 * The engine alone at Strata's concurrency-1 request rate: the client pauses after each answer for
 * as long as Strata's answers took longer than the engine's. The engine's own latency moves with its
 * request rate (idle gaps between requests change how fast it wakes and answers), so `added` against
 * the full-speed baseline mixes that in with the gateway's cost; this baseline measures the engine at
 * the gateway's rate instead. Reported beside the issue's definition, which the verdicts keep.
 */
async function sameRateBaseline(
  load: LoadGenerator,
  engine: EngineProcess,
  contenders: Contender[],
  c1: LevelMeasurement | undefined,
): Promise<SameRateBaseline | undefined> {
  const direct = contenders.find((contender) => contender.name === "direct");
  const [fast, strata] = [c1?.plain.direct, c1?.plain.strata];
  if (!direct || !fast || !strata) return undefined;
  const pauseMs = Math.max(0, 1000 / strata.requestsPerSecond - 1000 / fast.requestsPerSecond);
  const paced = summarize(await measure(load, engine, direct, 1, false, durationS, pauseMs));
  log(
    `c1 same-rate baseline: direct paused ${pauseMs.toFixed(3)} ms per request, ${paced.requestsPerSecond.toFixed(0)} req/s, p50 ${paced.p50Ms.toFixed(2)} ms, p99 ${paced.p99Ms.toFixed(2)} ms`,
  );
  return sameRateJson(pauseMs, paced, strata);
}

/** One load run; server-side CPU is the contender's process plus the engine's. */
async function measure(
  load: LoadGenerator,
  engine: EngineProcess,
  contender: Contender,
  connections: number,
  stream: boolean,
  seconds: number,
  pauseMs?: number,
): Promise<LoadSample> {
  const cpu = async () => (await engine.cpuUs()) + ((await contender.server?.cpuUs()) ?? 0);
  const before = await cpu();
  const sample = await load.run({
    url: contender.url + path,
    headers: { "content-type": "application/json", ...contender.headers },
    body: requestBody(stream),
    connections,
    durationS: seconds,
    stream,
    ...(pauseMs ? { pauseMs } : {}),
  });
  return { ...sample, serverCpuUs: (await cpu()) - before };
}

/**
 * Temperature 0 makes every request deterministic, so Strata's exact cache looks each one up; the
 * unique id in the prompt (replaced per request by the load generator) makes every lookup miss.
 */
function requestBody(stream: boolean): string {
  return JSON.stringify({
    model,
    messages: [{ role: "user", content: "Request [<id>]: summarise the plot of Hamlet in one sentence." }],
    max_tokens: outputTokens,
    temperature: 0,
    // Strata always asks the engine for usage; asking on every path keeps the engine's work equal.
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

/**
 * Every contender must answer 200 with the same amount of output, plain and streamed, or the
 * comparison means nothing; Strata must show that its steps ran (cache miss, route, rate limits).
 */
async function checkAnswers(contenders: Contender[]): Promise<void> {
  for (const contender of contenders) {
    const send = (stream: boolean) =>
      fetch(contender.url + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...contender.headers },
        body: requestBody(stream).replace("[<id>]", `check-${Date.now()}-${stream}`),
      });
    const response = await send(false);
    const body = (await response.json()) as { usage?: { completion_tokens?: number } };
    if (response.status !== 200 || body.usage?.completion_tokens !== outputTokens)
      throw new Error(`${contender.name} answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
    if (contender.name.startsWith("strata")) {
      const missing = ["x-strata-route", "x-ratelimit-remaining-requests"].filter(
        (name) => !response.headers.get(name),
      );
      if (response.headers.get("x-strata-cache") !== "miss") missing.push("x-strata-cache: miss");
      if (missing.length > 0) throw new Error(`${contender.name}'s answer lacks ${missing.join(", ")}`);
    }
    const stream = await send(true);
    const text = await stream.text();
    if (stream.status !== 200 || !text.includes("data: [DONE]") || !/"content":"[^"]/.test(text))
      throw new Error(`${contender.name} stream answered ${stream.status}: ${text.slice(0, 300)}`);
  }
}

async function memoryOf(contenders: Contender[]): Promise<LevelMeasurement["memoryMb"]> {
  const memory: LevelMeasurement["memoryMb"] = {};
  for (const contender of contenders)
    if (contender.server) memory[contender.name] = (await contender.server.memory()).rssMb;
  return memory;
}

async function heapOf(server: ServerProcess): Promise<number> {
  const usage = await server.ask<NodeJS.MemoryUsage>({ memoryUsage: true });
  return usage.heapTotal / 1048576;
}

/** The embedded Postgres's own resident memory, started alone in a process of its own. */
async function embeddedPostgresFootprint(): Promise<number | undefined> {
  try {
    const entry = fileURLToPath(new URL("./lib/embedded-postgres-footprint.ts", import.meta.url));
    const { stdout } = await execFileAsync(process.execPath, [...productRuntime, entry], { timeout: 60_000 });
    const answer = JSON.parse(stdout.trim().split("\n").at(-1)!) as { embeddedPostgresMb: number };
    return answer.embeddedPostgresMb;
  } catch (error) {
    log(`could not measure the embedded Postgres alone: ${String(error)}`);
    return undefined;
  }
}

/**
 * BENCH_CPU_PROFILE: a profile of the Strata process under load instead of the comparison — CPU by
 * default, or allocations (BENCH_PROFILE_KIND: heap, live-heap, promoted-heap; see HeapProfileKind).
 */
async function profileStrata(load: LoadGenerator, engine: EngineProcess, strata: Contender) {
  const connections = Number(process.env.BENCH_PROFILE_CONNECTIONS ?? 16);
  const stream = process.env.BENCH_PROFILE_STREAM === "1";
  const kind = process.env.BENCH_PROFILE_KIND ?? "cpu";
  const file = join(benchDir, "results", kind === "cpu" ? "gateway.cpuprofile" : "gateway.heapprofile");
  await strata.server!.ask({ profile: "start", kind });
  const sample = summarize(await measure(load, engine, strata, connections, stream, durationS));
  await strata.server!.ask({ profile: "stop", file });
  log(
    `profiled Strata at concurrency ${connections}${stream ? " (streams)" : ""}: ${sample.requestsPerSecond.toFixed(0)} req/s, p50 ${sample.p50Ms.toFixed(2)} ms, p99 ${sample.p99Ms.toFixed(2)} ms, p99.9 ${sample.p999Ms.toFixed(2)} ms, ${(100 * sample.slowShare).toFixed(2)}% over p50 + 1 ms, ${sample.serverCpuUsPerRequest.toFixed(0)} µs CPU/req (with the engine's)${kind === "none" ? "" : `; wrote ${file}`}`,
  );
}

/** Exact- and semantic-cache hit latency from `pnpm bench cache`, when it has run. */
async function cacheNumbers(): Promise<CacheNumbers | undefined> {
  const json = (await readJson("cache")) as
    | {
        environment?: { date?: string };
        exact?: { memory?: { hit?: { p50_ms: number; p99_ms: number; n: number } } };
        semantic?: { memory?: { entries?: number; hit?: { p50_ms: number; p99_ms: number } } };
      }
    | undefined;
  if (!json) return undefined;
  const exact = json.exact?.memory?.hit;
  const semantic = json.semantic?.memory;
  return {
    date: json.environment?.date,
    exact: exact ? { p50_ms: exact.p50_ms, p99_ms: exact.p99_ms, n: exact.n } : undefined,
    semantic:
      semantic?.hit && semantic.entries !== undefined
        ? {
            p50_ms: semantic.hit.p50_ms,
            p99_ms: semantic.hit.p99_ms,
            entries: semantic.entries,
            index: "in-process HNSW",
          }
        : undefined,
  };
}

function logLevel(level: string, measured: LevelMeasurement): void {
  const direct = measured.plain.direct;
  const parts = Object.entries(measured.plain).map(([name, summary]) => {
    const added = direct && name !== "direct" ? ` (+${(summary.p50Ms - direct.p50Ms).toFixed(2)})` : "";
    const ttft = measured.stream[name as ContenderName]?.firstTokenP50Ms ?? Number.NaN;
    return `${name} p50 ${summary.p50Ms.toFixed(2)}${added} ms, ${summary.requestsPerSecond.toFixed(0)} req/s, ${summary.serverCpuUsPerRequest.toFixed(0)} µs/req, TTFT ${ttft.toFixed(2)} ms`;
  });
  log(`${level}: ${parts.join("; ")}`);
}

function listFromEnv(name: string, all: string[]): string[] {
  const value = process.env[name];
  if (!value) return all;
  const picked = value.split(",").map((item) => item.trim());
  const unknown = picked.filter((item) => !all.includes(item));
  if (unknown.length > 0)
    throw new Error(`${name}: unknown ${unknown.join(", ")}; choose from ${all.join(", ")}`);
  return picked;
}

function log(message: string): void {
  console.log(`[bench gateway] ${message}`);
}
