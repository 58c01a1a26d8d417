/**
 * The one place the routing benchmark touches the router's code: its strategy registry, candidate
 * builder and types, through the package's entry point as any consumer would.
 */
import { createStrategy, inTreeStrategies, type Strategy, type StrategyDeps } from "@strata/router";

export {
  type Candidate,
  createCandidate,
  type RoutingRequest,
  type Strategy,
} from "@strata/router";

export function registeredStrategies(): string[] {
  return Object.keys(inTreeStrategies);
}

/** A fresh strategy with its default parameters, validated by its own schema as configuration is. */
export function buildStrategy(name: string, deps: StrategyDeps, params: unknown = {}): Strategy {
  return createStrategy(name, params, deps);
}
