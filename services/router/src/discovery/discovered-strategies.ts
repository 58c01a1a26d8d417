import type { RoutingConfig } from "../config.js";
import type { Strategy } from "../scoring/strategy.js";
import type { StrategySource } from "../scoring/strategy-selector.js";
import type { DiscoveredRouting } from "./discovered-routing.js";

/** Builds a strategy by name with the parameters configured for it. */
export type StrategyFactory = (name: string) => Strategy;

/**
 * Each model's replica-routing strategy: `routing.models.<model>` in the router's configuration wins,
 * then the model's ModelDeployment (`spec.routing.strategy`), then the configured default. A model
 * whose deployment switches strategy gets a fresh instance (strategies keep per-model state that
 * means nothing to another strategy); it learns the endpoint set on the next endpoint-table change,
 * which every discovery update makes.
 */
export class DiscoveredStrategies implements StrategySource {
  private readonly byModel = new Map<string, { name: string; strategy: Strategy }>();

  constructor(
    private readonly base: StrategySource,
    private readonly routing: Pick<RoutingConfig, "models">,
    private readonly discovered: Pick<DiscoveredRouting, "model">,
    private readonly create: StrategyFactory,
  ) {}

  forModel(model: string): Strategy {
    const name = Object.hasOwn(this.routing.models, model)
      ? undefined
      : this.discovered.model(model)?.strategy;
    if (name === undefined) {
      this.byModel.delete(model);
      return this.base.forModel(model);
    }
    const current = this.byModel.get(model);
    if (current?.name === name) return current.strategy;
    const strategy = this.create(name);
    this.byModel.set(model, { name, strategy });
    return strategy;
  }
}
