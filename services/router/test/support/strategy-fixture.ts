import { type Candidate, type CandidateInit, createCandidate } from "../../src/scoring/candidate.js";
import type { RoutingRequest, Strategy } from "../../src/scoring/strategy.js";

let sequence = 0;

/** A request to model "m" with a fresh id. */
export function routingRequest(prompt: string, promptTokens = 0): RoutingRequest {
  return { requestId: `strategy-${++sequence}`, model: "m", tenantId: "t", prompt, promptTokens };
}

/** `count` candidates `e0`, `e1`, … of model "m", each shaped by `extra`. */
export function fleet(
  count: number,
  extra: (index: number) => Partial<CandidateInit> = () => ({}),
): Candidate[] {
  return Array.from({ length: count }, (_, index) =>
    createCandidate({ id: `e${index}`, model: "m", ...extra(index) }),
  );
}

/** Decides and commits, as the router does; returns the chosen endpoint id. */
export function routeWith(
  strategy: Strategy,
  request: RoutingRequest,
  candidates: readonly Candidate[],
): string {
  const decision = strategy.decide(request, candidates);
  strategy.onRouted?.(request, decision.chosen.endpoint.id);
  return decision.chosen.endpoint.id;
}
