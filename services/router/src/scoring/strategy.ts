import type { Candidate } from "./candidate.js";

/** What a strategy knows about the request being routed. */
export interface RoutingRequest {
  requestId: string;
  /** Served model name after alias resolution. */
  model: string;
  tenantId: string;
  prompt: string;
  promptTokens: number;
}

export interface StrategyDecision {
  chosen: Candidate;
  /** Parallel to the candidates given: each one's score and how it was made. */
  scores: readonly { score: number; detail: string }[];
  /** One line a person reads to understand the choice. */
  reason: string;
}

/**
 * A way to pick one endpoint among candidates. It is called only when at least one candidate is
 * eligible, and scores all of them (filtered ones too) so the response can explain the choice.
 * KV-cache-aware strategies will be composed from filters, scorers and a picker behind this interface.
 */
export interface Strategy {
  readonly name: string;
  decide(request: RoutingRequest, candidates: readonly Candidate[]): StrategyDecision;
}

/** Builds a strategy from its own parameters, which the factory validates. */
export type StrategyFactory = (params: unknown) => Strategy;
