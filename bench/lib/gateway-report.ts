import type { Summary } from "./load.js";

export interface Scenario {
  name: string;
  connections: number;
  stream: boolean;
}

export interface ScenarioResult extends Scenario {
  direct: Summary;
  gateway: Summary;
  /** A bare Node pass-through proxy (bench/lib/bare-proxy.ts): the floor for any Node gateway. */
  proxy: Summary;
  /** gateway req/s ÷ bare-proxy req/s: how close the gateway is to doing nothing but proxying. */
  proxyRatio: number;
  /** gateway req/s ÷ direct req/s; the target is ≥ 0.5. */
  throughputRatio: number;
  /** gateway p50 − direct p50; the target is < 1 ms. */
  addedP50Ms: number;
  addedP99Ms: number;
}

export const targets = { minThroughputRatio: 0.5, maxAddedP50Ms: 1 };

export function compare(
  scenario: Scenario,
  direct: Summary,
  gateway: Summary,
  proxy: Summary,
): ScenarioResult {
  return {
    ...scenario,
    direct,
    gateway,
    proxy,
    proxyRatio: gateway.requestsPerSecond / proxy.requestsPerSecond,
    throughputRatio: gateway.requestsPerSecond / direct.requestsPerSecond,
    addedP50Ms: gateway.p50Ms - direct.p50Ms,
    addedP99Ms: gateway.p99Ms - direct.p99Ms,
  };
}

const ms = (value: number) => value.toFixed(2);
const cpu = (summary: Summary) => summary.serverCpuUsPerRequest.toFixed(0);
const percentiles = (summary: Summary) =>
  `${ms(summary.p50Ms)} / ${ms(summary.p90Ms)} / ${ms(summary.p99Ms)}`;

/** The gateway section of RESULTS.md. */
export function section(
  run: { date: string; node: string; cpuModel: string; cpuCount: number; commit: string; durationS: number },
  results: ScenarioResult[],
): string {
  const rows = results.map((result) => {
    const failures = ["direct", "proxy", "gateway"] as const;
    const bad = failures.map((side) => result[side].non2xx + result[side].errors + result[side].timeouts);
    const ok =
      result.throughputRatio >= targets.minThroughputRatio && result.addedP50Ms < targets.maxAddedP50Ms
        ? "yes"
        : "no";
    return `| ${result.name} | ${result.connections} | ${result.stream ? "yes" : "no"} | ${result.direct.requestsPerSecond.toFixed(0)} | ${result.gateway.requestsPerSecond.toFixed(0)} | **${result.throughputRatio.toFixed(2)}** | ${result.proxy.requestsPerSecond.toFixed(0)} | ${result.proxyRatio.toFixed(2)} | ${ms(result.proxy.p50Ms - result.direct.p50Ms)} | ${percentiles(result.direct)} | ${percentiles(result.gateway)} | **${ms(result.addedP50Ms)}** | ${ms(result.addedP99Ms)} | ${cpu(result.direct)} / ${cpu(result.gateway)} | ${bad.join(" / ")} | ${ok} |`;
  });
  return [
    "## gateway",
    "",
    `\`pnpm bench gateway\` — ${run.date}, commit ${run.commit}, Node ${run.node}, ${run.cpuCount}× ${run.cpuModel},`,
    `${run.durationS} s per target per scenario (two halves, order direct–gateway–gateway–direct).`,
    "POST /v1/chat/completions, 16 output tokens, engine-sim at timeScale 0, one replica; direct = straight to",
    "that replica, gateway = the same body through the gateway. Latencies in ms (p50 / p90 / p99); failed (direct / proxy / gateway) =",
    `non-2xx + errors + timeouts; CPU = server-side CPU µs per request, engine + platform (direct / gateway). Targets: ratio ≥ ${targets.minThroughputRatio}, added p50 < ${targets.maxAddedP50Ms} ms.`,
    "The engine runs in its own process, as a replica is its own pod in production; gateway, router and the",
    "ledger (PGlite on a worker thread) share the platform process, as in `pnpm start`. Load generator, engine",
    "and platform share the machine's two cores, so the gateway path also competes with the load for CPU.",
    "A bare Node pass-through proxy (undici, nothing else) is measured in the same run: it is the floor for",
    "any Node gateway on this topology, so `gateway ÷ proxy` is the share of the achievable throughput.",
    "",
    "| scenario | conns | stream | direct req/s | gateway req/s | ratio | bare proxy req/s | gateway ÷ proxy | proxy added p50 | direct latency | gateway latency | added p50 | added p99 | CPU µs/req | failed | meets targets |",
    "| --- | --: | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --- | --- |",
    ...rows,
  ].join("\n");
}
