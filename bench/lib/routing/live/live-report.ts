/**
 * The real-time run's section of RESULTS.md and its record under `live` in results/routing.json: per
 * workload a table of measured numbers with harness 1's prediction for the same setup beside them.
 */

import type { Prediction } from "./live-prediction.js";
import type { LiveMetrics } from "./live-run.js";
import type { LiveSetup } from "./live-setup.js";

export interface LiveResult extends LiveMetrics {
  /** two-routers only: how the routers shared state ("nats", or "none" when the router cannot sync). */
  sync?: "nats" | "none";
  predicted: Prediction;
}

export interface LiveReport {
  harness: string;
  command: string;
  environment: { date: string; node: string; cpuModel: string; cpuCount: number; commit: string };
  runtime_s: number;
  setup: LiveSetup & { model: string };
  workloads: Record<string, { shape: string; rate_per_s: number; requests: number; duration_s: number }>;
  skipped: { name: string; reason: string }[];
  /** Runs that did not complete, with the error. */
  failed: { name: string; reason: string }[];
  results: Record<string, Record<string, LiveResult>>;
}

const ms = (value: number) =>
  Number.isNaN(value) ? "–" : value >= 100 ? value.toFixed(0) : value.toFixed(1);
const pct = (value: number) => `${(value * 100).toFixed(1)}%`;

export function liveSection(report: LiveReport): string {
  const { environment: env, setup } = report;
  const { engine } = setup;
  const lines = [
    "## routing (real time)",
    "",
    `\`${report.command}\` — ${env.date}, commit ${env.commit}, Node ${env.node}, ${env.cpuCount}× ${env.cpuModel.split(" ").slice(0, 2).join(" ")}, ${report.runtime_s} s.`,
    "Harness 2, the real-time check of harness 1: every piece in its own process and talking over the network —",
    `${setup.replicas} engine-sim replicas (each run tags its prompts so it starts cold; ${engine.kvCapacityBlocks} blocks × ${engine.blockSize} tokens of KV each, at most ${engine.maxNumSeqs} running`,
    `sequences, prefill ${engine.prefillMsPerToken} ms/token + ${engine.prefillOverheadMs} ms, decode ${engine.decodeMsPerToken} ms/token +${engine.decodeBatchPenalty * 100}% per co-running sequence, all`,
    `× time scale ${setup.timeScale} in wall time), the router process with the strategy under test (scraping engine metrics every`,
    `${setup.scrapeIntervalMs} ms), the gateway process (PGlite, in-process bus, API key) and a load-generator process replaying`,
    `harness 1's seeded workloads scaled by ${setup.scale} (arrival rate and number of distinct prefixes; each replica's KV`,
    "scaled alike) open-loop through the gateway's OpenAI API with streaming.",
    "Hit rate = cached ÷ queried prompt tokens from the engines' `vllm:prefix_cache_*` counters; TTFT = scheduled send",
    "to first streamed content, at the client; output tokens/s = streamed completion tokens ÷ (last answer − first",
    `arrival); imbalance = max ÷ mean of each replica's mean \`waiting + running\` sampled every ${setup.sampleIntervalMs} ms during`,
    "the arrivals; decision latency from the router's `strata_router_route_duration_seconds` histogram (bucket-",
    "interpolated like `histogram_quantile`, so only as fine as its 0.5 / 1 / 2.5 ms bounds). *sim* = harness 1's",
    "simulation of this same setup and requests (wall-clock ms), the number the live one should confirm.",
    "TTFT mean client / engine: the engines' own `vllm:time_to_first_token_seconds` mean (× time scale) beside the",
    "client's; the gap is what the gateway, router, network and a busy machine add. Send lag p99: how late the load",
    "generator itself sent requests (a starved client inflates every TTFT).",
    "two-routers: two router processes, one gateway process each, requests alternating between the gateways; with",
    "sync `nats` the routers share decisions over a real nats-server. The machine is shared and small (2 cores for",
    "every process here and other work): absolute latencies are noisy; compare strategies within a table.",
  ];
  if (report.skipped.length > 0) {
    lines.push("", `Skipped: ${report.skipped.map((skip) => `${skip.name} (${skip.reason})`).join("; ")}.`);
  }
  if (report.failed.length > 0) {
    lines.push("", `**Failed:** ${report.failed.map((run) => `${run.name} (${run.reason})`).join("; ")}.`);
  }
  for (const [workload, byStrategy] of Object.entries(report.results)) {
    lines.push(...workloadTable(workload, report.workloads[workload], byStrategy));
  }
  return lines.join("\n");
}

function workloadTable(
  workload: string,
  shape: LiveReport["workloads"][string] | undefined,
  byStrategy: Record<string, LiveResult>,
): string[] {
  const lines = [
    "",
    `### ${workload} (real time)`,
    "",
    `${shape?.shape}; ${shape?.rate_per_s} req/s for ${shape?.duration_s} s, ${shape?.requests} requests.`,
    "",
    "| strategy | hit rate (sim) | TTFT p50 / p90 / p99 ms | TTFT p90 sim | TTFT mean client / engine | output tokens/s | imbalance (sim) | decision p50 / p99 ms | send lag p99 | failed |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const [strategy, result] of Object.entries(byStrategy)) {
    const name = result.sync ? `${strategy} (sync: ${result.sync})` : strategy;
    const predicted = result.predicted;
    lines.push(
      `| ${name} | ${pct(result.hit_rate)} (${pct(predicted.hit_rate)}) | ${ms(result.ttft_p50_ms)} / ${ms(result.ttft_p90_ms)} / ${ms(result.ttft_p99_ms)} | ${ms(predicted.ttft_p90_ms)} | ${ms(result.ttft_mean_ms)} / ${ms(result.engine_ttft_mean_ms)} | ${result.output_tokens_per_s.toFixed(0)} | ${result.imbalance.toFixed(2)} (${predicted.imbalance.toFixed(2)}) | ${result.decision_p50_ms.toFixed(2)} / ${result.decision_p99_ms.toFixed(2)} | ${ms(result.send_lag_p99_ms)} | ${result.failed} |`,
    );
  }
  return lines;
}
