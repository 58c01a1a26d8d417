/**
 * The shape of the real-time run (harness 2), derived from harness 1's so the two can be compared:
 * fewer replicas, and the same seeded workloads shrunk by `scale` (arrival rate and number of distinct
 * prefixes) with each replica's KV cache shrunk by the same factor, so a replica's cache holds the
 * same share of the working set. `timeScale` slows engine-sim's clock, which lets the shrunk offered
 * load keep the prefill lanes as busy as in harness 1 (scale × timeScale = replicas ÷ harness 1's
 * replicas) while the machine streams fewer tokens per second.
 */
import { DEFAULT_ENGINE_MODEL_CONFIG, type EngineModelConfig } from "@strata/engine-sim";
import type { WorkloadName } from "../workloads.js";

export interface LiveSetup {
  replicas: number;
  /** Multiplier of every engine-sim delay: wall ms = model ms × timeScale. */
  timeScale: number;
  /** Workload shrink factor (rate and distinct prefixes), see WorkloadOptions.scale. */
  scale: number;
  seed: number;
  /** Seconds of open-loop arrivals per workload. */
  durationS: Record<WorkloadName, number>;
  /** engine-sim's model settings (in model ms), the same for every replica. */
  engine: EngineModelConfig;
  /** Longest prompt + answer an engine accepts; multi-turn histories grow past engine-sim's 4096. */
  maxModelLen: number;
  /** The router's health-and-metrics scrape interval: how stale its view of engine load is. */
  scrapeIntervalMs: number;
  /** How often the harness samples each engine's queue (waiting + running) for the imbalance. */
  sampleIntervalMs: number;
  /** Client-side limit for one request, first byte to last. */
  requestTimeoutMs: number;
}

/** Harness 1's fleet: 8 replicas × 4096 KV blocks (see bench/routing.ts). */
const harness1 = { replicas: 8, kvCapacityBlocks: 4096, maxNumSeqs: 64 };

/**
 * Short, so every strategy fits in ~8 minutes on a small machine. Multi-turn gets more: its sessions
 * take ~30 s to reach their steady mix of short and long histories.
 */
const defaultDurationS: Record<WorkloadName, number> = {
  "multi-turn": 25,
  "shared-context": 15,
  "no-sharing": 15,
  "hot-prefix": 15,
};

export function liveSetup(env: Record<string, string | undefined>): LiveSetup {
  const replicas = positive(env.BENCH_LIVE_REPLICAS, 4, "BENCH_LIVE_REPLICAS");
  const timeScale = positive(env.BENCH_LIVE_TIME_SCALE, 2, "BENCH_LIVE_TIME_SCALE");
  const scale = replicas / harness1.replicas / timeScale;
  const duration = env.BENCH_LIVE_DURATION_S;
  const durationS = { ...defaultDurationS };
  if (duration !== undefined) {
    const seconds = positive(duration, 0, "BENCH_LIVE_DURATION_S");
    for (const name of Object.keys(durationS) as WorkloadName[]) durationS[name] = seconds;
  }
  const maxModelLen = 8192;
  const blockSize = DEFAULT_ENGINE_MODEL_CONFIG.blockSize;
  return {
    replicas,
    timeScale,
    scale,
    seed: positive(env.BENCH_ROUTING_SEED, 1, "BENCH_ROUTING_SEED"),
    durationS,
    engine: {
      ...DEFAULT_ENGINE_MODEL_CONFIG,
      // Never below what one max-length sequence needs, or engine-sim refuses to start.
      kvCapacityBlocks: Math.max(
        Math.ceil(maxModelLen / blockSize),
        Math.round(harness1.kvCapacityBlocks * scale),
      ),
      maxNumSeqs: harness1.maxNumSeqs,
    },
    maxModelLen,
    scrapeIntervalMs: 1000,
    sampleIntervalMs: 250,
    requestTimeoutMs: 120_000,
  };
}

/** engine-sim's command-line flags for this setup (see services/engine-sim/README.md). */
export function engineFlags(setup: LiveSetup, model: string): Record<string, string | number> {
  const { engine } = setup;
  return {
    model,
    "time-scale": setup.timeScale,
    "block-size": engine.blockSize,
    "kv-capacity-blocks": engine.kvCapacityBlocks,
    "max-num-seqs": engine.maxNumSeqs,
    "max-model-len": setup.maxModelLen,
    "prefill-ms-per-token": engine.prefillMsPerToken,
    "prefill-overhead-ms": engine.prefillOverheadMs,
    "decode-ms-per-token": engine.decodeMsPerToken,
    "decode-batch-penalty": engine.decodeBatchPenalty,
    "hash-seed": engine.hashSeed,
    "log-level": "error",
  };
}

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new Error(`${name} must be a positive number, got "${value}"`);
  return number;
}
