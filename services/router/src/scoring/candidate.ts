import type { EndpointConfig } from "../config.js";
import type { HealthStatus } from "../endpoints/endpoint-health.js";
import type { EndpointState } from "../endpoints/endpoint-table.js";

/** One endpoint as a strategy sees it for one request: a snapshot, so scoring sees consistent numbers. */
export interface Candidate {
  readonly endpoint: EndpointConfig;
  readonly health: HealthStatus;
  /** Requests this router sent there and has not heard back about. */
  readonly inFlight: number;
  /** Engine-reported queue and batch sizes; undefined when the engine's metrics were not readable. */
  readonly waiting: number | undefined;
  readonly running: number | undefined;
  /** Fraction of the engine's KV cache in use, 0..1. */
  readonly kvCacheUsage: number | undefined;
  /** Static KV capacity in tokens from configuration, when known. */
  readonly kvCapacityTokens: number | undefined;
  readonly eligible: boolean;
  /** Why a filter removed it; undefined for eligible candidates. */
  readonly filteredBecause: string | undefined;
}

/** What a caller without a running router (the routing simulation) supplies to build a Candidate. */
export interface CandidateInit {
  id: string;
  model: string;
  inFlight?: number;
  waiting?: number;
  running?: number;
  kvCacheUsage?: number;
  kvCapacityTokens?: number;
  /** LoRA adapters the endpoint serves. */
  adapters?: string[];
  /** Defaults to true; false needs `filteredBecause`. */
  eligible?: boolean;
  filteredBecause?: string;
}

/**
 * Builds a Candidate outside the router: the simulation's replicas have no URL, so a placeholder is
 * used. Strategies read only `endpoint.id`, `endpoint.model` and the load fields.
 */
export function createCandidate(init: CandidateInit): Candidate {
  const eligible = init.eligible ?? true;
  return {
    endpoint: {
      id: init.id,
      url: `http://${init.id}.invalid`,
      model: init.model,
      api: "openai",
      aliases: [],
      adapters: init.adapters ?? [],
      kvCapacityTokens: init.kvCapacityTokens,
    },
    health: eligible ? "healthy" : "unhealthy",
    inFlight: init.inFlight ?? 0,
    waiting: init.waiting,
    running: init.running,
    kvCacheUsage: init.kvCacheUsage,
    kvCapacityTokens: init.kvCapacityTokens,
    eligible,
    filteredBecause: eligible ? undefined : (init.filteredBecause ?? "not eligible"),
  };
}

/** A filter returns why a candidate cannot serve the request, or undefined to keep it. */
export type CandidateFilter = (endpoint: EndpointState, model: string) => string | undefined;

export const servesModel: CandidateFilter = (endpoint, model) =>
  endpoint.config.model === model ? undefined : `serves ${endpoint.config.model}, not ${model}`;

/** Keeps endpoints that serve the named LoRA adapter. */
export function servesAdapter(adapter: string): CandidateFilter {
  return (endpoint) =>
    endpoint.config.adapters.includes(adapter) ? undefined : `does not serve adapter ${adapter}`;
}

export const isHealthy: CandidateFilter = (endpoint) => {
  if (endpoint.health.routable) return undefined;
  const error = endpoint.health.lastError;
  return error ? `${endpoint.health.status}: ${error}` : endpoint.health.status;
};

/** Filters run in order; the first that objects explains the exclusion. */
export const defaultFilters: readonly CandidateFilter[] = [servesModel, isHealthy];

export function buildCandidates(
  endpoints: readonly EndpointState[],
  model: string,
  inFlight: (endpointId: string) => number,
  filters: readonly CandidateFilter[] = defaultFilters,
): Candidate[] {
  return endpoints.map((endpoint) => {
    let filteredBecause: string | undefined;
    for (const filter of filters) {
      filteredBecause = filter(endpoint, model);
      if (filteredBecause) break;
    }
    return {
      endpoint: endpoint.config,
      health: endpoint.health.status,
      inFlight: inFlight(endpoint.config.id),
      waiting: endpoint.load.waiting,
      running: endpoint.load.running,
      kvCacheUsage: endpoint.load.kvCacheUsage,
      kvCapacityTokens: endpoint.config.kvCapacityTokens,
      eligible: filteredBecause === undefined,
      filteredBecause,
    };
  });
}
