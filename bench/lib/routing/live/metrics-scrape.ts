/**
 * Reads what the harness measures from the services' own /metrics: the engines' prefix-cache counters
 * and queue gauges (vLLM's names, as engine-sim serves them) and the router's decision-time histogram.
 * Parsing reuses the router's Prometheus text reader, the one that reads these same engine metrics
 * in production.
 */
import { parseMetricsText } from "@strata/router";

const names = {
  queries: "vllm:prefix_cache_queries_total",
  hits: "vllm:prefix_cache_hits_total",
  waiting: "vllm:num_requests_waiting",
  running: "vllm:num_requests_running",
  ttftSum: "vllm:time_to_first_token_seconds_sum",
  ttftCount: "vllm:time_to_first_token_seconds_count",
};

export interface EngineCounters {
  /** Prompt tokens looked up in the prefix cache. */
  queried: number;
  /** Of those, tokens found cached. */
  hits: number;
  /** Sum (model seconds) and count of the engine's own time-to-first-token observations. */
  ttftSeconds: number;
  ttftCount: number;
}

async function scrape(url: string, wanted: ReadonlySet<string>) {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return parseMetricsText(await response.text(), wanted);
}

const sum = (families: ReturnType<typeof parseMetricsText>, name: string) =>
  (families.get(name) ?? []).reduce((total, sample) => total + sample.value, 0);

const counterNames = new Set([names.queries, names.hits, names.ttftSum, names.ttftCount]);

export async function engineCounters(engineUrl: string): Promise<EngineCounters> {
  const families = await scrape(`${engineUrl}/metrics`, counterNames);
  return {
    queried: sum(families, names.queries),
    hits: sum(families, names.hits),
    ttftSeconds: sum(families, names.ttftSum),
    ttftCount: sum(families, names.ttftCount),
  };
}

const queueNames = new Set([names.waiting, names.running]);

/** Requests the engine holds: waiting plus running, the queue the imbalance metric compares. */
export async function engineQueue(engineUrl: string): Promise<number> {
  const families = await scrape(`${engineUrl}/metrics`, queueNames);
  return sum(families, names.waiting) + sum(families, names.running);
}

/** A counter or gauge summed over its label sets; 0 when the endpoint does not expose it. */
export async function scalarSum(metricsUrl: string, name: string): Promise<number> {
  return sum(await scrape(metricsUrl, new Set([name])), name);
}

export interface HistogramSnapshot {
  /** Cumulative counts by upper bound, ascending, +Inf last. */
  buckets: { le: number; count: number }[];
  count: number;
}

/** One histogram (summed over its label sets) from a Prometheus endpoint. */
export async function histogram(metricsUrl: string, name: string): Promise<HistogramSnapshot> {
  const bucketName = `${name}_bucket`;
  const families = await scrape(metricsUrl, new Set([bucketName, `${name}_count`]));
  const byBound = new Map<number, number>();
  for (const sample of families.get(bucketName) ?? []) {
    const le = Number(sample.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : sample.labels.le);
    byBound.set(le, (byBound.get(le) ?? 0) + sample.value);
  }
  const buckets = [...byBound].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  return { buckets, count: sum(families, `${name}_count`) };
}

/** What was observed between two snapshots of the same histogram. */
export function histogramDelta(after: HistogramSnapshot, before: HistogramSnapshot): HistogramSnapshot {
  const earlier = new Map(before.buckets.map((bucket) => [bucket.le, bucket.count]));
  return {
    buckets: after.buckets.map((bucket) => ({
      le: bucket.le,
      count: bucket.count - (earlier.get(bucket.le) ?? 0),
    })),
    count: after.count - before.count,
  };
}

/** Adds histograms with the same buckets (two routers' decision times). */
export function histogramSum(snapshots: readonly HistogramSnapshot[]): HistogramSnapshot {
  const byBound = new Map<number, number>();
  for (const snapshot of snapshots)
    for (const bucket of snapshot.buckets)
      byBound.set(bucket.le, (byBound.get(bucket.le) ?? 0) + bucket.count);
  const buckets = [...byBound].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  return { buckets, count: snapshots.reduce((total, snapshot) => total + snapshot.count, 0) };
}

/**
 * Prometheus's histogram_quantile: the bucket holding the q-th observation, interpolated linearly
 * inside it (from 0 for the first bucket). Only as precise as the buckets; NaN with no observations.
 */
export function histogramQuantile(q: number, snapshot: HistogramSnapshot): number {
  const { buckets } = snapshot;
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      // Past the last finite bound nothing is known: answer that bound, as Prometheus does.
      if (bucket.le === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      return inBucket === 0
        ? bucket.le
        : lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}
