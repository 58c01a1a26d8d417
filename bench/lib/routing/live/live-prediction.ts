/**
 * What harness 1 predicts for the very setup the real-time run measures: the same requests, the same
 * number of replicas and engine parameters (converted to wall-clock ms by the time scale), the router's
 * scrape interval and the queue sampling interval. Live and predicted numbers side by side are the
 * confirmation the real-time run exists for.
 */
import { runSimulation } from "../../../routing.js";
import type { RunMetrics, SimOptions } from "../simulation.js";
import type { StrategyBuild } from "../strategies.js";
import type { Workload } from "../workloads.js";
import type { LiveSetup } from "./live-setup.js";

export type Prediction = Pick<
  RunMetrics,
  "hit_rate" | "ttft_p50_ms" | "ttft_p90_ms" | "ttft_p99_ms" | "output_tokens_per_s" | "imbalance"
>;

/** `peerDelayMs` undefined: the routers never hear of each other's decisions (no sync). */
export function predict(
  build: StrategyBuild,
  workload: Workload,
  setup: LiveSetup,
  routers: number,
  peerDelayMs: number | undefined,
): Prediction {
  const { engine, timeScale } = setup;
  const options: SimOptions = {
    replicas: setup.replicas,
    engine: {
      ...engine,
      prefillMsPerToken: engine.prefillMsPerToken * timeScale,
      prefillOverheadMs: engine.prefillOverheadMs * timeScale,
      decodeMsPerToken: engine.decodeMsPerToken * timeScale,
    },
    scrapeIntervalMs: setup.scrapeIntervalMs,
    sampleIntervalMs: setup.sampleIntervalMs,
    peerDelayMs: peerDelayMs ?? Number.POSITIVE_INFINITY,
  };
  const metrics = runSimulation(build, workload, routers, options);
  return {
    hit_rate: metrics.hit_rate,
    ttft_p50_ms: metrics.ttft_p50_ms,
    ttft_p90_ms: metrics.ttft_p90_ms,
    ttft_p99_ms: metrics.ttft_p99_ms,
    output_tokens_per_s: metrics.output_tokens_per_s,
    imbalance: metrics.imbalance,
  };
}
