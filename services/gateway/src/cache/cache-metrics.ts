import { Counter, Gauge, Histogram, type Registry } from "@strata/kit";

export type CacheKind = "exact" | "semantic";
export type LookupResult = "hit" | "miss" | "bypass" | "error";

/** Lookups take microseconds (in-process) to milliseconds (Redis, pgvector, a remote embedder). */
const lookupBuckets = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
];

export interface CacheMetrics {
  lookup(cache: CacheKind, result: LookupResult, seconds?: number): void;
  stored(cache: CacheKind, result: "stored" | "skipped" | "error"): void;
}

/** Cache counters with their label sets bound once: the hot path only increments. */
export function createCacheMetrics(
  registry: Registry,
  sizes?: () => { cache: CacheKind; entries: number; bytes: number }[],
): CacheMetrics {
  const requests = new Counter({
    name: "strata_gateway_cache_requests_total",
    help: "Completion requests by cache (exact, semantic) and what it did: hit, miss, bypass (not consulted) or error.",
    labelNames: ["cache", "result"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "strata_gateway_cache_lookup_duration_seconds",
    help: "Time to look a request up in a cache (for the semantic cache, embedding included).",
    labelNames: ["cache"],
    buckets: lookupBuckets,
    registers: [registry],
  });
  const stores = new Counter({
    name: "strata_gateway_cache_stores_total",
    help: "Answers offered to a cache, by whether they were stored, skipped (incomplete, too large) or failed.",
    labelNames: ["cache", "result"],
    registers: [registry],
  });
  if (sizes) {
    new Gauge({
      name: "strata_gateway_cache_entries",
      help: "Entries held by the in-process caches.",
      labelNames: ["cache"],
      registers: [registry],
      collect() {
        for (const size of sizes()) this.set({ cache: size.cache }, size.entries);
      },
    });
    new Gauge({
      name: "strata_gateway_cache_bytes",
      help: "Bytes held by the in-process caches (answers, and vectors with their links).",
      labelNames: ["cache"],
      registers: [registry],
      collect() {
        for (const size of sizes()) this.set({ cache: size.cache }, size.bytes);
      },
    });
  }
  const bind = (cache: CacheKind) =>
    Object.fromEntries(
      (["hit", "miss", "bypass", "error"] as const).map((result) => [result, requests.labels(cache, result)]),
    ) as Record<LookupResult, ReturnType<typeof requests.labels>>;
  const counters = { exact: bind("exact"), semantic: bind("semantic") };
  const timers = { exact: duration.labels("exact"), semantic: duration.labels("semantic") };
  return {
    lookup(cache, result, seconds) {
      counters[cache][result].inc();
      if (seconds !== undefined) timers[cache].observe(seconds);
    },
    stored(cache, result) {
      stores.inc({ cache, result });
    },
  };
}
