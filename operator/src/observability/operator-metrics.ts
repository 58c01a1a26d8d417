import { Counter, Gauge, Histogram, type Registry } from "@strata/kit";

export interface OperatorMetrics {
  reconcileTotal: Counter<"result">;
  reconcileDuration: Histogram;
  reconcileErrors: Counter<"reason">;
  queueDepth: Gauge;
  leader: Gauge;
  kubeRequests: Counter<"verb" | "code">;
  watchEvents: Counter<"kind" | "type">;
  autoscaleDecisions: Counter<"direction">;
  autoscaleLoad: Gauge<"namespace" | "name">;
  autoscaleDesiredReplicas: Gauge<"namespace" | "name">;
  loadReadErrors: Counter;
}

export function createOperatorMetrics(registry: Registry): OperatorMetrics {
  const registers = [registry];
  return {
    reconcileTotal: new Counter({
      name: "strata_operator_reconcile_total",
      help: "ModelDeployment reconciles, by result (success or error).",
      labelNames: ["result"],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: "strata_operator_reconcile_duration_seconds",
      help: "Time to reconcile one ModelDeployment, API calls included.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    reconcileErrors: new Counter({
      name: "strata_operator_reconcile_errors_total",
      help: "Failed reconciles, by reason (the API server's Status reason, or the error's name).",
      labelNames: ["reason"],
      registers,
    }),
    queueDepth: new Gauge({
      name: "strata_operator_workqueue_depth",
      help: "ModelDeployment keys waiting to be reconciled.",
      registers,
    }),
    leader: new Gauge({
      name: "strata_operator_leader",
      help: "1 while this replica holds the leader Lease and reconciles, else 0.",
      registers,
    }),
    kubeRequests: new Counter({
      name: "strata_operator_kube_requests_total",
      help: "Requests to the Kubernetes API, by verb and HTTP status code.",
      labelNames: ["verb", "code"],
      registers,
    }),
    watchEvents: new Counter({
      name: "strata_operator_watch_events_total",
      help: "Watch events received, by kind and event type.",
      labelNames: ["kind", "type"],
      registers,
    }),
    autoscaleDecisions: new Counter({
      name: "strata_operator_autoscale_decisions_total",
      help: "Replica changes the autoscaler wrote, by direction (up, down, to_zero, from_zero).",
      labelNames: ["direction"],
      registers,
    }),
    autoscaleLoad: new Gauge({
      name: "strata_operator_autoscale_load_requests",
      help: "Requests in flight or waiting on a ModelDeployment's engines, averaged over its window.",
      labelNames: ["namespace", "name"],
      registers,
    }),
    autoscaleDesiredReplicas: new Gauge({
      name: "strata_operator_autoscale_desired_replicas",
      help: "Replicas the autoscaler wants for a ModelDeployment after stabilisation.",
      labelNames: ["namespace", "name"],
      registers,
    }),
    loadReadErrors: new Counter({
      name: "strata_operator_autoscale_load_read_errors_total",
      help: "Engine /metrics reads that failed or lacked the load gauges (the replica counts as busy).",
      registers,
    }),
  };
}
