import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LoadRequest, LoadSample } from "./load-worker.js";

export type { LoadRequest, LoadSample };

/** A long-lived load-worker child process; one measurement at a time. */
export class LoadGenerator {
  private readonly child: ChildProcess;
  private nextId = 0;

  constructor() {
    this.child = fork(fileURLToPath(new URL("./load-worker.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx"],
      // Structured clone keeps the Float64Array of latencies intact and cheap to send.
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
  }

  run(request: LoadRequest): Promise<LoadSample> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`load worker exited (${code})`));
      const onMessage = (message: { id: number; sample?: LoadSample; error?: string }) => {
        if (message.id !== id) return;
        this.child.off("message", onMessage);
        this.child.off("exit", onExit);
        if (message.sample) resolve(message.sample);
        else reject(new Error(`load worker: ${message.error}`));
      };
      this.child.on("message", onMessage);
      this.child.once("exit", onExit);
      this.child.send({ id, request });
    });
  }

  close(): void {
    this.child.kill();
  }
}

/** Several samples of one target taken at different times, treated as one measurement. */
export function mergeSamples(samples: LoadSample[]): LoadSample {
  const sum = (pick: (sample: LoadSample) => number) => samples.reduce((acc, s) => acc + pick(s), 0);
  return {
    latenciesMs: concat(samples.map((sample) => sample.latenciesMs)),
    firstTokenMs: concat(samples.map((sample) => sample.firstTokenMs)),
    durationS: sum((s) => s.durationS),
    non2xx: sum((s) => s.non2xx),
    errors: sum((s) => s.errors),
    timeouts: sum((s) => s.timeouts),
    serverCpuUs: sum((s) => s.serverCpuUs ?? Number.NaN),
  };
}

function concat(arrays: Float64Array[]): Float64Array {
  const joined = new Float64Array(arrays.reduce((sum, array) => sum + array.length, 0));
  let offset = 0;
  for (const array of arrays) {
    joined.set(array, offset);
    offset += array.length;
  }
  return joined;
}

export interface Summary {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  /**
   * Share of answers more than 1 ms slower than the median. At concurrency 1 each stall (a GC pause,
   * a batch write, a wait for a core) slows about one answer, so this counts stalls per answer: the
   * p99 stays near the median plus 1 ms only while it is under 1%.
   */
  slowShare: number;
  /** Streams only (NaN otherwise): time to the first token. */
  firstTokenP50Ms: number;
  firstTokenP99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Server-process CPU per answered request: what limits throughput once the server core is busy. */
  serverCpuUsPerRequest: number;
}

export function summarize(sample: LoadSample): Summary {
  const sorted = Float64Array.from(sample.latenciesMs).sort();
  const firstTokens = Float64Array.from(sample.firstTokenMs).sort();
  const p50Ms = percentile(sorted, 0.5);
  return {
    requests: sorted.length,
    requestsPerSecond: sorted.length / sample.durationS,
    p50Ms,
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    p999Ms: percentile(sorted, 0.999),
    slowShare: sorted.filter((ms) => ms > p50Ms + 1).length / sorted.length,
    firstTokenP50Ms: percentile(firstTokens, 0.5),
    firstTokenP99Ms: percentile(firstTokens, 0.99),
    non2xx: sample.non2xx,
    errors: sample.errors,
    timeouts: sample.timeouts,
    serverCpuUsPerRequest: (sample.serverCpuUs ?? Number.NaN) / sorted.length,
  };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
