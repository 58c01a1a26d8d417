import type { RoutingConfig } from "../config.js";
import type { Strategy, StrategyDeps } from "./strategy.js";
import { createStrategy, defaultStrategyDeps } from "./strategy-registry.js";

/** Who picks the strategy for a model; the Router needs only this. */
export interface StrategySource {
  forModel(model: string): Strategy;
}

/**
 * One strategy instance per model, built on first use from the routing configuration. Per model
 * because strategies keep state (prefix indexes, rotation counters) that means nothing across models.
 */
export class StrategySelector implements StrategySource {
  private readonly byModel = new Map<string, Strategy>();

  constructor(
    private readonly routing: RoutingConfig,
    /** least-load's params from the top-level `weights`, used unless routing.params names least-load. */
    private readonly legacyLeastLoadParams: unknown = {},
    private readonly deps: StrategyDeps = defaultStrategyDeps,
  ) {}

  forModel(model: string): Strategy {
    let strategy = this.byModel.get(model);
    if (strategy === undefined) {
      const choice = this.routing.models[model];
      const name = choice?.strategy ?? this.routing.defaultStrategy;
      const params = choice?.params ?? sharedParams(this.routing, name, this.legacyLeastLoadParams);
      strategy = createStrategy(name, params, this.deps);
      this.byModel.set(model, strategy);
    }
    return strategy;
  }
}

/**
 * The parameters `routing.params` gives a strategy wherever it runs; least-load falls back to the
 * top-level `weights` (passed as `legacyLeastLoadParams`), which predate `routing.params`.
 */
export function sharedParams(
  routing: Pick<RoutingConfig, "params">,
  name: string,
  legacyLeastLoadParams: unknown = {},
): unknown {
  return routing.params[name] ?? (name === "least-load" ? legacyLeastLoadParams : {});
}

/** Every model routed by the same strategy instance (tests, simple embeddings). */
export function singleStrategy(strategy: Strategy): StrategySource {
  return { forModel: () => strategy };
}
