import { engineQueue } from "./metrics-scrape.js";

/**
 * Samples each engine's queue (waiting + running, from its /metrics) at a fixed interval inside a
 * time window, for the imbalance metric: max ÷ mean over replicas of the time-averaged queue.
 */
export class QueueSampler {
  private readonly sums: number[];
  private samples = 0;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly engineUrls: readonly string[],
    /** Sampling window in epoch ms: the arrival window, as harness 1 samples it. */
    private readonly window: { from: number; to: number },
    private readonly intervalMs: number,
  ) {
    this.sums = engineUrls.map(() => 0);
    this.loop = this.run();
  }

  /** Stops sampling and returns each replica's mean queue. */
  async stop(): Promise<number[]> {
    this.stopped = true;
    await this.loop;
    return this.sums.map((sum) => sum / Math.max(1, this.samples));
  }

  private async run(): Promise<void> {
    let next = this.window.from;
    while (!this.stopped && next <= this.window.to) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 100)));
      if (Date.now() < next) continue;
      const queues = await Promise.all(this.engineUrls.map((url) => engineQueue(url)));
      queues.forEach((queue, index) => {
        this.sums[index] = (this.sums[index] as number) + queue;
      });
      this.samples++;
      // A slow scrape skips ticks rather than bunching samples together.
      while (next <= Date.now()) next += this.intervalMs;
    }
  }
}

/** max ÷ mean of the replicas' mean queues; 1 when nothing was queued. */
export function imbalance(queues: readonly number[]): number {
  const mean = queues.reduce((sum, queue) => sum + queue, 0) / Math.max(1, queues.length);
  return mean === 0 ? 1 : Math.max(...queues) / mean;
}
