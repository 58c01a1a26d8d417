import type { EndpointTable } from "../endpoints/endpoint-table.js";
import type { InFlightTracker } from "../endpoints/in-flight-tracker.js";
import type { RoutingReport, RoutingRequest } from "../scoring/strategy.js";
import type { StrategySource } from "../scoring/strategy-selector.js";

/**
 * Where a replica applies its peers' events. Both return false when the event names an endpoint this
 * replica does not route to for that model (configurations differ), so the event is counted as not
 * applied. The routing benchmark implements this over its simulated routers.
 */
export interface SyncTarget {
  /** A peer committed `request` to `endpointId`. */
  applyRouted(request: RoutingRequest, endpointId: string): boolean;
  /** A peer received the first Report of a request; `model` is the served model. */
  applyReported(report: RoutingReport, model: string): boolean;
}

export interface RouterSyncTargetDeps {
  table: Pick<EndpointTable, "get">;
  inFlight: Pick<InFlightTracker, "begin" | "end">;
  strategies: StrategySource;
}

/**
 * The router's own target: a peer's decision counts in this replica's in-flight view (and expires by
 * the tracker's sweep if its Report is lost) and teaches the same strategy hooks a local decision
 * would, so prefix indexes and load counts agree across replicas. A peer's Report closes the entry
 * and corrects the indexes with the engine's cached tokens, exactly once, like a local Report.
 */
export function routerSyncTarget(deps: RouterSyncTargetDeps): SyncTarget {
  const serves = (endpointId: string, model: string) => deps.table.get(endpointId)?.config.model === model;
  return {
    applyRouted(request, endpointId) {
      if (!serves(endpointId, request.model)) return false;
      deps.inFlight.begin(request.requestId, endpointId);
      deps.strategies.forModel(request.model).onRouted?.(request, endpointId);
      return true;
    },
    applyReported(report, model) {
      if (!serves(report.endpointId, model)) return false;
      // Unknown here (routed before this replica listened, or already swept): nothing to close or correct.
      const endpointId = deps.inFlight.end(report.requestId);
      if (endpointId === undefined) return true;
      const endpoint = deps.table.get(endpointId);
      if (endpoint === undefined) return true;
      deps.strategies.forModel(endpoint.config.model).onReport?.({ ...report, endpointId });
      return true;
    },
  };
}
