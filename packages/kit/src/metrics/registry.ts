import { collectDefaultMetrics, Registry } from "prom-client";

export { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * One registry per service, so services sharing a process (the embedded mode) keep their own
 * `/metrics`. Process metrics are labelled with the service to tell them apart when merged.
 */
export function createMetricsRegistry(service: string, options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "strata_" });
  return registry;
}

/** Latency buckets in seconds, from 0.5 ms (gateway overhead) to 2 minutes (long generations). */
export const latencyBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];
