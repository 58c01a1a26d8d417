import { Counter, Gauge, type Registry } from "@strata/kit";
import type { KvEventsRuntime } from "../kv-events/kv-events-runtime.js";
import type { KvEventSubscriberStats } from "../kv-events/subscriber.js";

type StatName = keyof KvEventSubscriberStats;

/** Per-endpoint subscriber counters: [metric name, stat, help]. */
const counters: readonly [string, StatName, string][] = [
  ["strata_router_kv_events_batches_total", "batches", "KV-event batches applied, per endpoint."],
  ["strata_router_kv_events_total", "events", "KV events (stored, removed, cleared) received, per endpoint."],
  ["strata_router_kv_events_gaps_total", "gaps", "Sequence gaps seen in an endpoint's KV events."],
  [
    "strata_router_kv_events_replayed_batches_total",
    "replayedBatches",
    "KV-event batches recovered from an engine's replay socket.",
  ],
  [
    "strata_router_kv_events_unrepaired_gaps_total",
    "unrepairedGaps",
    "Sequence gaps replay could not close (no replay socket, timeout, buffer too short).",
  ],
  [
    "strata_router_kv_events_publisher_restarts_total",
    "restarts",
    "Engine KV-event publishers seen restarting (sequence back to 0); their blocks were dropped.",
  ],
  [
    "strata_router_kv_events_decode_errors_total",
    "decodeErrors",
    "KV-event batches that could not be decoded.",
  ],
];

/**
 * Precise routing's state, read at scrape time from the subscribers, the block index and the prompt
 * block hasher, so the numbers are what routing uses. Counters restart with a subscriber (an
 * endpoint whose `kvEvents` changed), which Prometheus reads as a counter reset.
 */
export function registerKvEventsMetrics(registry: Registry, runtime: KvEventsRuntime): void {
  for (const [name, stat, help] of counters) {
    new Counter({
      name,
      help,
      labelNames: ["endpoint"],
      registers: [registry],
      collect() {
        this.reset();
        for (const subscriber of runtime.pool.all()) {
          this.inc({ endpoint: subscriber.endpointId }, subscriber.stats[stat]);
        }
      },
    });
  }
  new Gauge({
    name: "strata_router_kv_events_connected",
    help: "1 while the router is connected to the endpoint's KV-event publisher, else 0.",
    labelNames: ["endpoint"],
    registers: [registry],
    collect() {
      this.reset();
      for (const subscriber of runtime.pool.all()) {
        this.set({ endpoint: subscriber.endpointId }, subscriber.connected ? 1 : 0);
      }
    },
  });
  registerIndexMetrics(registry, runtime);
}

function registerIndexMetrics(registry: Registry, runtime: KvEventsRuntime): void {
  new Gauge({
    name: "strata_router_kv_blocks_tracked",
    help: "Distinct KV block hashes the engines reported holding.",
    registers: [registry],
    collect() {
      this.set(runtime.index.size);
    },
  });
  new Gauge({
    name: "strata_router_kv_endpoint_blocks",
    help: "KV blocks an endpoint's engine reported holding.",
    labelNames: ["endpoint"],
    registers: [registry],
    collect() {
      this.reset();
      for (const endpoint of runtime.index.endpoints()) {
        this.set({ endpoint }, runtime.index.blockCount(endpoint));
      }
    },
  });
  new Gauge({
    name: "strata_router_precise_prefix_chunks",
    help: "Prompt chunks whose tokenization and block hashes the precise strategy remembers.",
    registers: [registry],
    collect() {
      this.set(runtime.hasher.size);
    },
  });
  new Counter({
    name: "strata_router_precise_prefix_lookups_total",
    help: "Prompt chunk lookups of the precise strategy: hit (remembered) or miss (tokenized).",
    labelNames: ["result"],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: "hit" }, runtime.hasher.hits);
      this.inc({ result: "miss" }, runtime.hasher.misses);
    },
  });
}
