import type { DiscoveredModel, DiscoveredState } from "./discovered-state.js";

/**
 * The routing settings of discovered models as of the last change, swapped whole on update so a
 * request never sees half of two states. Model routing, strategies and ListModels read it.
 */
export class DiscoveredRouting {
  private models: ReadonlyMap<string, DiscoveredModel> = new Map();
  private tiers: ReadonlyMap<string, string> = new Map();
  private waking: ReadonlyMap<string, readonly string[]> = new Map();
  /** Model, alias or tier name → served model. */
  private names: ReadonlyMap<string, string> = new Map();

  update(
    state: Pick<DiscoveredState, "models" | "tiers"> & Partial<Pick<DiscoveredState, "wakeable">>,
  ): void {
    const names = new Map<string, string>();
    for (const model of state.models.values()) {
      names.set(model.model, model.model);
      for (const alias of model.aliases) names.set(alias, model.model);
    }
    for (const [tier, model] of state.tiers) if (!names.has(tier)) names.set(tier, model);
    this.models = state.models;
    this.tiers = state.tiers;
    this.waking = state.wakeable ?? new Map();
    this.names = names;
  }

  model(name: string): DiscoveredModel | undefined {
    return this.models.get(name);
  }

  all(): Iterable<DiscoveredModel> {
    return this.models.values();
  }

  /** The served model a discovered model name, alias or tier stands for. */
  resolveName(name: string): string | undefined {
    return this.names.get(name);
  }

  /** The ModelDeployments of a served model that scale to zero and a waiting request may wake. */
  wakeable(model: string): readonly string[] {
    return this.waking.get(model) ?? [];
  }

  /** The served model of a discovered tier. */
  tierModel(name: string): string | undefined {
    return this.tiers.get(name);
  }

  tierEntries(): Iterable<[string, string]> {
    return this.tiers.entries();
  }
}
