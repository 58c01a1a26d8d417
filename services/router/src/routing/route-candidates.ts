import { StrataError } from "@strata/kit";
import type { EndpointState, EndpointTable } from "../endpoints/endpoint-table.js";
import type { InFlightTracker } from "../endpoints/in-flight-tracker.js";
import type { OutlierDetector } from "../endpoints/outlier-detector.js";
import {
  buildCandidates,
  type Candidate,
  type CandidateFilter,
  isHealthy,
  servesAdapter,
  servesModel,
} from "../scoring/candidate.js";
import type { RouteTarget } from "./route-target.js";

export interface RouteCandidates {
  candidates: Candidate[];
  /** Every routable endpoint was ejected, so ejections were set aside for this request. */
  ejectionsIgnored: boolean;
}

export interface CandidateSourceDeps {
  table: Pick<EndpointTable, "all">;
  inFlight: Pick<InFlightTracker, "count">;
  outliers?: Pick<OutlierDetector, "ejectedBecause"> | undefined;
}

/**
 * Every configured endpoint as a candidate for one request, filtered in order: serves the model,
 * serves the adapter (when one is named), healthy, not ejected. Throws no_healthy_upstream when none
 * is left. Ejection never empties the list: if it would, the ejected endpoints stay candidates.
 */
export class CandidateSource {
  private readonly notEjected: CandidateFilter;
  private readonly filters: readonly CandidateFilter[];
  private readonly withoutEjection: readonly CandidateFilter[] = [servesModel, isHealthy];
  private readonly inFlight: (endpointId: string) => number;

  constructor(private readonly deps: CandidateSourceDeps) {
    this.notEjected = (endpoint: EndpointState) => deps.outliers?.ejectedBecause(endpoint.config.id);
    this.filters = deps.outliers ? [servesModel, isHealthy, this.notEjected] : this.withoutEjection;
    this.inFlight = (endpointId) => deps.inFlight.count(endpointId);
  }

  forTarget(target: RouteTarget): RouteCandidates {
    const all = this.deps.table.all();
    const adapterFilter = target.adapter === undefined ? undefined : servesAdapter(target.adapter);
    const filters = adapterFilter ? insertAfterModel(this.filters, adapterFilter) : this.filters;
    const candidates = buildCandidates(all, target.model, this.inFlight, filters);
    if (candidates.some((candidate) => candidate.eligible)) return { candidates, ejectionsIgnored: false };
    if (this.deps.outliers) {
      const base = adapterFilter
        ? insertAfterModel(this.withoutEjection, adapterFilter)
        : this.withoutEjection;
      const unejected = buildCandidates(all, target.model, this.inFlight, base);
      if (unejected.some((candidate) => candidate.eligible))
        return { candidates: unejected, ejectionsIgnored: true };
    }
    const name = target.adapter ?? target.model;
    const serving = candidates.filter(
      (candidate) =>
        candidate.endpoint.model === target.model &&
        (target.adapter === undefined || candidate.endpoint.adapters.includes(target.adapter)),
    ).length;
    throw new StrataError(
      "no_healthy_upstream",
      `no healthy endpoint for model "${name}" (0 of ${serving} healthy)`,
    );
  }
}

function insertAfterModel(filters: readonly CandidateFilter[], filter: CandidateFilter): CandidateFilter[] {
  return [filters[0] as CandidateFilter, filter, ...filters.slice(1)];
}
