import { Counter, Gauge, Histogram, latencyBuckets, type Registry } from "@strata/kit";
import type { EndpointTable } from "../endpoints/endpoint-table.js";
import type { InFlightTracker } from "../endpoints/in-flight-tracker.js";
import type { OutlierDetector } from "../endpoints/outlier-detector.js";

export interface RouterMetrics {
  decisions: Counter<"model" | "endpoint" | "strategy">;
  errors: Counter<"code">;
  reports: Counter<"outcome">;
  routeDuration: Histogram;
  ejections: Counter<"endpoint" | "model">;
  /** Reloads of the model-routing file: applied, or rejected (the running configuration stays). */
  modelReloads: Counter<"result">;
}

/** The live state the per-endpoint gauges read at scrape time. */
interface EndpointState {
  table: Pick<EndpointTable, "all">;
  inFlight: Pick<InFlightTracker, "count">;
  outliers?: Pick<OutlierDetector, "isEjected">;
}

/** The router's Prometheus metrics: counters the routing code moves, gauges read from live state. */
export function createRouterMetrics(registry: Registry, state: EndpointState): RouterMetrics {
  registerEndpointGauges(registry, state);
  return {
    decisions: new Counter({
      name: "strata_router_route_decisions_total",
      help: "Routing decisions, by served model, chosen endpoint and strategy.",
      labelNames: ["model", "endpoint", "strategy"],
      registers: [registry],
    }),
    errors: new Counter({
      name: "strata_router_route_errors_total",
      help: "Route calls that failed, by Strata error code.",
      labelNames: ["code"],
      registers: [registry],
    }),
    reports: new Counter({
      name: "strata_router_reports_total",
      help: "Report calls received, by outcome.",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    ejections: new Counter({
      name: "strata_router_endpoint_ejections_total",
      help: "Outlier ejections: an endpoint taken out of routing after consecutive failed reports.",
      labelNames: ["endpoint", "model"],
      registers: [registry],
    }),
    modelReloads: new Counter({
      name: "strata_router_models_reloads_total",
      help: "Reloads of the model-routing file, by result (applied, invalid).",
      labelNames: ["result"],
      registers: [registry],
    }),
    routeDuration: new Histogram({
      name: "strata_router_route_duration_seconds",
      help: "Time to make a routing decision.",
      buckets: latencyBuckets,
      registers: [registry],
    }),
  };
}

/**
 * Health, in-flight and ejection per endpoint, read when scraped rather than set on every change, so
 * they cannot drift from what routing uses. Each resets first: an endpoint that left the table must
 * not keep its last value.
 */
function registerEndpointGauges(registry: Registry, state: EndpointState): void {
  new Gauge({
    name: "strata_router_endpoint_ejected",
    help: "1 while the endpoint is ejected from routing after consecutive failed reports, else 0.",
    labelNames: ["endpoint"],
    registers: [registry],
    collect() {
      this.reset();
      for (const endpoint of state.table.all()) {
        this.set({ endpoint: endpoint.config.id }, state.outliers?.isEjected(endpoint.config.id) ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: "strata_router_endpoint_healthy",
    help: "1 when the endpoint passes health checks and takes traffic, else 0.",
    labelNames: ["endpoint", "model"],
    registers: [registry],
    collect() {
      this.reset();
      for (const endpoint of state.table.all()) {
        const { id, model } = endpoint.config;
        this.set({ endpoint: id, model }, endpoint.health.routable ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: "strata_router_endpoint_in_flight",
    help: "Requests routed to the endpoint and not yet reported back.",
    labelNames: ["endpoint"],
    registers: [registry],
    collect() {
      this.reset();
      for (const endpoint of state.table.all()) {
        this.set({ endpoint: endpoint.config.id }, state.inFlight.count(endpoint.config.id));
      }
    },
  });
}
