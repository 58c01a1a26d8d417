import type { LoadSample } from "./load-source.js";

/** Load averaged over the window: what the scaling policy decides on. */
export interface AverageLoad {
  inFlight: number;
  waiting: number;
  /** Replicas that could not be read, averaged like the rest. */
  missing: number;
  /** Samples the average is made of; 0 means nothing is known yet. */
  samples: number;
}

/**
 * The samples of the last `windowMs`, averaged. A burst shorter than the window moves the average only
 * by its share of the window, which is what keeps a spike from buying replicas it will not need.
 */
export class LoadWindow {
  private samples: Array<{ at: number; inFlight: number; waiting: number; missing: number }> = [];

  add(at: number, sample: Pick<LoadSample, "inFlight" | "waiting" | "missing">): void {
    this.samples.push({ at, inFlight: sample.inFlight, waiting: sample.waiting, missing: sample.missing });
  }

  average(now: number, windowMs: number): AverageLoad {
    this.samples = this.samples.filter((sample) => sample.at > now - windowMs);
    const count = this.samples.length;
    if (count === 0) return { inFlight: 0, waiting: 0, missing: 0, samples: 0 };
    const mean = (pick: (sample: (typeof this.samples)[number]) => number) =>
      this.samples.reduce((sum, sample) => sum + pick(sample), 0) / count;
    return {
      inFlight: mean((sample) => sample.inFlight),
      waiting: mean((sample) => sample.waiting),
      missing: mean((sample) => sample.missing),
      samples: count,
    };
  }
}
