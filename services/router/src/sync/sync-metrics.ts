import { Counter, Histogram, Registry } from "@strata/kit";

export type SyncEventKind = "routed" | "reported";

/**
 * Why events did not make it from one replica's routing into another's:
 * - `publish_failed`: the bus refused the batch (connection closed, batch over NATS max_payload);
 * - `missed`: a receiver saw a gap in an origin's sequence numbers (lost during a NATS outage or
 *   dropped by the server for a slow subscriber), counted once per missing event;
 * - `undecodable`: a message on the sync subject that is not a SyncBatch;
 * - `unknown_endpoint`: a peer routed to an endpoint or model this replica does not serve (their
 *   configurations differ, e.g. during a rollout);
 * - `apply_failed`: a strategy hook threw while applying the event.
 */
export type SyncDropReason =
  | "publish_failed"
  | "missed"
  | "undecodable"
  | "unknown_endpoint"
  | "apply_failed";

export interface SyncMetrics {
  published: Counter<"kind">;
  publishedBatches: Counter;
  applied: Counter<"kind">;
  dropped: Counter<"reason">;
  applyLag: Histogram;
}

/** Sub-millisecond to seconds: the coalescing delay plus the NATS hop is ~1–3 ms when healthy. */
const lagBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The sync's Prometheus metrics; one set per registry (a second call on the same registry throws). */
export function createSyncMetrics(registry: Registry = new Registry()): SyncMetrics {
  return {
    published: new Counter({
      name: "strata_router_sync_published_total",
      help: "Routing events this replica handed to NATS for its peers, by kind.",
      labelNames: ["kind"],
      registers: [registry],
    }),
    publishedBatches: new Counter({
      name: "strata_router_sync_published_batches_total",
      help: "NATS messages carrying this replica's routing events (events are coalesced into batches).",
      registers: [registry],
    }),
    applied: new Counter({
      name: "strata_router_sync_applied_total",
      help: "Peers' routing events applied to this replica's strategies and in-flight counts, by kind.",
      labelNames: ["kind"],
      registers: [registry],
    }),
    dropped: new Counter({
      name: "strata_router_sync_dropped_total",
      help: "Routing events lost or not applied between replicas, by reason.",
      labelNames: ["reason"],
      registers: [registry],
    }),
    applyLag: new Histogram({
      name: "strata_router_sync_apply_lag_seconds",
      help: "From the oldest event of a peer's batch at the peer to its application here (includes clock skew between hosts).",
      buckets: lagBuckets,
      registers: [registry],
    }),
  };
}
