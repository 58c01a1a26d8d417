import type { Summary } from "./load.js";

/** Who is measured: the engine itself (baseline), the two gateways, and a bare Node proxy (the floor). */
export const contenderNames = ["direct", "strata", "strata_grpc", "portkey", "node_proxy"] as const;
export type ContenderName = (typeof contenderNames)[number];

export interface LevelMeasurement {
  connections: number;
  plain: Partial<Record<ContenderName, Summary>>;
  stream: Partial<Record<ContenderName, Summary>>;
  /** Resident memory of each server process right after this level's runs, in MiB. */
  memoryMb: Partial<Record<ContenderName, number>>;
  /** V8 heap (main isolate) of the processes that can tell (Strata), in MiB. */
  heapMb: Partial<Record<ContenderName, number>>;
}

/** The issue's targets, checked against same-run numbers. */
export const targets = {
  c1AddedP50Ms: 0.3,
  c1AddedP99Ms: 1,
  c64ThroughputVsPortkey: 2,
  streamFirstTokenOverheadP50Ms: 1,
};

const round = (value: number, digits = 3) =>
  Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : null;

/** One contender at one level, in the JSON's shape (`results.c1.strata.p50_ms`...). */
export function contenderJson(level: LevelMeasurement, name: ContenderName) {
  const plain = level.plain[name];
  const stream = level.stream[name];
  const direct = level.plain.direct;
  const directStream = level.stream.direct;
  if (!plain) return undefined;
  const failed = (summary: Summary | undefined) =>
    summary ? summary.non2xx + summary.errors + summary.timeouts : 0;
  return {
    p50_ms: round(plain.p50Ms),
    p90_ms: round(plain.p90Ms),
    p99_ms: round(plain.p99Ms),
    p999_ms: round(plain.p999Ms),
    slow_share: round(plain.slowShare, 4),
    rps: round(plain.requestsPerSecond, 1),
    requests: plain.requests,
    ...(name !== "direct" && direct
      ? {
          added_p50_ms: round(plain.p50Ms - direct.p50Ms),
          added_p99_ms: round(plain.p99Ms - direct.p99Ms),
          rps_vs_direct: round(plain.requestsPerSecond / direct.requestsPerSecond),
        }
      : {}),
    stream_ttft_p50_ms: round(stream?.firstTokenP50Ms ?? Number.NaN),
    stream_ttft_p99_ms: round(stream?.firstTokenP99Ms ?? Number.NaN),
    ...(name !== "direct" && stream && directStream
      ? {
          stream_ttft_overhead_p50_ms: round(stream.firstTokenP50Ms - directStream.firstTokenP50Ms),
          stream_ttft_overhead_p99_ms: round(stream.firstTokenP99Ms - directStream.firstTokenP99Ms),
        }
      : {}),
    stream_p50_ms: round(stream?.p50Ms ?? Number.NaN),
    stream_rps: round(stream?.requestsPerSecond ?? Number.NaN, 1),
    /** Server-side CPU per answered request: this contender's process plus the engine's. */
    cpu_us_per_request: round(plain.serverCpuUsPerRequest, 0),
    stream_cpu_us_per_request: round(stream?.serverCpuUsPerRequest ?? Number.NaN, 0),
    ...(level.memoryMb[name] !== undefined ? { memory_mb: round(level.memoryMb[name]!, 1) } : {}),
    ...(level.heapMb[name] !== undefined ? { heap_mb: round(level.heapMb[name]!, 1) } : {}),
    failed: failed(plain) + failed(stream),
  };
}

export type ContenderJson = NonNullable<ReturnType<typeof contenderJson>>;
export type ResultsJson = Record<string, Partial<Record<ContenderName, ContenderJson>>>;

export function resultsJson(levels: Record<string, LevelMeasurement>): ResultsJson {
  const results: ResultsJson = {};
  for (const [name, level] of Object.entries(levels)) {
    const entry: Partial<Record<ContenderName, ContenderJson>> = {};
    for (const contender of contenderNames) {
      const json = contenderJson(level, contender);
      if (json) entry[contender] = json;
    }
    results[name] = entry;
  }
  return results;
}

export interface Verdict {
  what: string;
  target: string;
  measured: string;
  met: boolean | null;
}

/** Each target against this run's numbers; null when the run did not measure it. */
export function verdicts(results: ResultsJson): Verdict[] {
  const strata = (level: string) => results[level]?.strata;
  const c1 = strata("c1");
  const c64 = strata("c64");
  const portkey64 = results.c64?.portkey;
  const ratio = c64 && portkey64 ? (c64.rps ?? Number.NaN) / (portkey64.rps ?? Number.NaN) : Number.NaN;
  const check = (value: number | null | undefined, ok: (value: number) => boolean) =>
    value === null || value === undefined || !Number.isFinite(value) ? null : ok(value);
  const ms = (value: number | null | undefined) => (value == null ? "n/a" : `${value.toFixed(3)} ms`);
  return [
    {
      what: "added latency p50, concurrency 1",
      target: `≤ ${targets.c1AddedP50Ms} ms`,
      measured: ms(c1?.added_p50_ms),
      met: check(c1?.added_p50_ms, (value) => value <= targets.c1AddedP50Ms),
    },
    {
      what: "added latency p99, concurrency 1",
      target: `≤ ${targets.c1AddedP99Ms} ms`,
      measured: ms(c1?.added_p99_ms),
      met: check(c1?.added_p99_ms, (value) => value <= targets.c1AddedP99Ms),
    },
    {
      what: "throughput at concurrency 64 vs Portkey",
      target: `≥ ${targets.c64ThroughputVsPortkey}×`,
      measured: Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "n/a",
      met: check(ratio, (value) => value >= targets.c64ThroughputVsPortkey),
    },
    {
      what: "stream first-token overhead p50, concurrency 1",
      target: `< ${targets.streamFirstTokenOverheadP50Ms} ms`,
      measured: ms(c1?.stream_ttft_overhead_p50_ms),
      met: check(c1?.stream_ttft_overhead_p50_ms, (value) => value < targets.streamFirstTokenOverheadP50Ms),
    },
  ];
}

const labels: Record<ContenderName, string> = {
  direct: "direct (engine)",
  strata: "**Strata**",
  strata_grpc: "Strata, router over gRPC",
  portkey: "Portkey",
  node_proxy: "bare Node proxy",
};

const cell = (value: number | null | undefined, digits = 2) =>
  value === null || value === undefined ? "–" : value.toFixed(digits);

/** One table row per level and contender. */
function rows(results: ResultsJson): string[] {
  const lines: string[] = [];
  for (const [level, entry] of Object.entries(results)) {
    for (const name of contenderNames) {
      const json = entry[name];
      if (!json) continue;
      lines.push(
        `| ${level} | ${labels[name]} | ${cell(json.p50_ms)} / ${cell(json.p99_ms)} | ${cell(json.added_p50_ms)} / ${cell(json.added_p99_ms)} | ${cell(json.rps, 0)} | ${cell(json.stream_ttft_p50_ms)} | ${cell(json.stream_ttft_overhead_p50_ms)} | ${cell(json.stream_rps, 0)} | ${cell(json.cpu_us_per_request, 0)} | ${cell(json.memory_mb, 0)} | ${json.failed} |`,
      );
    }
  }
  return lines;
}

/** Strata at concurrency 1 against the engine paced to Strata's request rate (see sameRateBaseline). */
export interface SameRateBaseline {
  pause_ms: number | null;
  direct: { p50_ms: number | null; p99_ms: number | null; rps: number | null };
  strata_added_p50_ms: number | null;
  strata_added_p99_ms: number | null;
}

export function sameRateJson(pauseMs: number, paced: Summary, strata: Summary): SameRateBaseline {
  return {
    pause_ms: round(pauseMs),
    direct: {
      p50_ms: round(paced.p50Ms),
      p99_ms: round(paced.p99Ms),
      rps: round(paced.requestsPerSecond, 1),
    },
    strata_added_p50_ms: round(strata.p50Ms - paced.p50Ms),
    strata_added_p99_ms: round(strata.p99Ms - paced.p99Ms),
  };
}

export interface CacheNumbers {
  exact?: { p50_ms: number; p99_ms: number; n: number } | undefined;
  semantic?: { p50_ms: number; p99_ms: number; entries: number; index: string } | undefined;
  date?: string | undefined;
}

/** The gateway section of RESULTS.md. */
export function section(
  run: {
    date: string;
    node: string;
    cpuModel: string;
    cpuCount: number;
    commit: string;
    durationS: number;
    loadAverage1m: number;
    portkeyVersion: string;
    embeddedPostgresMb: number | undefined;
  },
  results: ResultsJson,
  cache: CacheNumbers | undefined,
  sameRate?: SameRateBaseline,
): string {
  const strataHeap = Object.values(results)
    .map((entry) => entry.strata?.heap_mb)
    .filter((value): value is number => typeof value === "number");
  const memoryNote =
    run.embeddedPostgresMb === undefined
      ? ""
      : ` Of Strata's memory, the embedded Postgres alone takes ${run.embeddedPostgresMb.toFixed(0)} MiB (measured in this run` +
        ` by starting one by itself), and its JS heap is ${strataHeap.length ? `${Math.max(...strataHeap).toFixed(0)} MiB at most` : "not known"};` +
        " a gateway in production talks to an external Postgres.";
  const verdictRows = verdicts(results).map(
    (verdict) =>
      `| ${verdict.what} | ${verdict.target} | ${verdict.measured} | ${verdict.met === null ? "not measured" : verdict.met ? "yes" : "**no**"} |`,
  );
  return [
    "## gateway",
    "",
    `\`pnpm bench gateway\` — ${run.date}, commit ${run.commit}, Node ${run.node}, ${run.cpuCount}× ${run.cpuModel},`,
    `load average ${run.loadAverage1m} when it started (a shared machine: compare contenders within this run, not across runs).`,
    `${run.durationS} s per contender per level and mode, in two halves in mirrored order (direct, Strata, Portkey, proxy, proxy, Portkey, Strata, direct) to cancel drift.`,
    "",
    "Every contender runs in a process of its own, as do engine-sim (one replica, time scale 0: it answers at once, 16",
    "output tokens) and the load generator (autocannon for plain requests, undici for streams). `direct` calls the engine;",
    "**Strata** is the platform as `pnpm start` runs it (gateway, router, PGlite ledger) with every step on: a key made",
    "through the admin API with allowed models, rate limits and budgets (in-process), a price for the model, an exact-cache",
    "lookup that misses (temperature 0, every prompt unique), the router's decision and a usage event written to the",
    "ledger. Gateway and router share the process there, so the gateway calls the router directly; `Strata, router over",
    "gRPC` is the same platform with the gateway calling the router over its gRPC port (RouteStream on loopback), the",
    "hop a gateway makes to a router in another pod — both ends of it paid in the one process here.",
    `**Portkey** is \`@portkey-ai/gateway\` ${run.portkeyVersion} from npm (its Node server, headless, production mode)`,
    "forwarding to the same engine as an OpenAI-compatible custom host; the bare Node proxy (undici pass-through, no other",
    "work) is the floor for any Node gateway on this machine. POST /v1/chat/completions; latencies in ms at the client;",
    "added = contender − direct at the same percentile; TTFT = time to the first streamed token, overhead = minus direct's;",
    "CPU = server-side CPU µs per request (contender process + engine); memory = resident set size of the contender's",
    `process after the level's runs (Strata's includes the router and the embedded Postgres).${memoryNote}`,
    "",
    "| level | contender | latency p50 / p99 | added p50 / p99 | req/s | stream TTFT p50 | TTFT overhead p50 | stream req/s | CPU µs/req | memory MiB | failed |",
    "| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
    ...rows(results),
    "",
    "| target | wanted | measured | met |",
    "| --- | --- | --: | --- |",
    ...verdictRows,
    ...(sameRate
      ? [
          "",
          `Same-rate baseline (beside the verdicts, which keep the issue's definition): the engine alone at Strata's c1 rate — the client pausing ${cell(sameRate.pause_ms, 3)} ms after each answer — gave p50 / p99 ${cell(sameRate.direct.p50_ms)} / ${cell(sameRate.direct.p99_ms)} ms at ${cell(sameRate.direct.rps, 0)} req/s, against ${cell(results.c1?.direct?.p50_ms)} / ${cell(results.c1?.direct?.p99_ms)} ms at full speed.`,
          `Against it Strata adds ${cell(sameRate.strata_added_p50_ms)} / ${cell(sameRate.strata_added_p99_ms)} ms.`,
        ]
      : []),
    ...(cache?.exact || cache?.semantic
      ? [
          "",
          `Cache hits (from \`pnpm bench cache\`, bench/results/cache.json${cache.date ? `, ${cache.date}` : ""}; the lookup step alone, in-process):`,
          ...(cache.exact
            ? [
                `exact hit p50 ${cache.exact.p50_ms.toFixed(3)} ms, p99 ${cache.exact.p99_ms.toFixed(3)} ms (${cache.exact.n} lookups);`,
              ]
            : []),
          ...(cache.semantic
            ? [
                `semantic hit p50 ${cache.semantic.p50_ms.toFixed(3)} ms, p99 ${cache.semantic.p99_ms.toFixed(3)} ms at ${cache.semantic.entries} cached entries (${cache.semantic.index}).`,
              ]
            : []),
        ]
      : []),
  ].join("\n");
}
