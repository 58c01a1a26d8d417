import { StrataError } from "@strata/kit";
import type { EndpointTable } from "../endpoints/endpoint-table.js";
import type { ModelRequest, ModelResolution, ModelRouter } from "../models/index.js";
import type { DemandRecorder } from "./demand-recorder.js";
import type { DiscoveredRouting } from "./discovered-routing.js";

export type ModelResolver = Pick<ModelRouter, "resolveSync" | "config"> &
  Partial<Pick<ModelRouter, "resolve" | "usesLlmFor">>;

/**
 * Model routing with the ModelDeployments' settings layered over the configured one: a deployment's
 * tier is a name clients may send, its fallbacks follow its model wherever the request was resolved,
 * and a deployment with no ready replica makes its model unavailable (retryable), not unknown — or,
 * when it scales to zero, wakes it and answers model_scaling_up so the gateway holds the request.
 * Configured names (aliases, tiers, routes, endpoint models) always win over discovered ones.
 */
export class DiscoveredModelRouter {
  constructor(
    private readonly base: ModelResolver,
    private readonly discovered: Pick<DiscoveredRouting, "model" | "resolveName" | "tierModel"> &
      Partial<Pick<DiscoveredRouting, "wakeable">>,
    private readonly table: Pick<EndpointTable, "resolveModel" | "adapterBase">,
    private readonly demand?: Pick<DemandRecorder, "record">,
  ) {}

  usesLlmFor(model: string): boolean {
    return this.base.usesLlmFor?.(model) ?? false;
  }

  resolveSync(request: ModelRequest): ModelResolution {
    return this.finish(request.model, this.discoveredName(request.model) ?? this.base.resolveSync(request));
  }

  async resolve(request: ModelRequest, signal?: AbortSignal): Promise<ModelResolution> {
    const own = this.discoveredName(request.model);
    if (own) return this.finish(request.model, own);
    const { resolve } = this.base;
    const resolution = resolve
      ? await resolve.call(this.base, request, signal)
      : this.base.resolveSync(request);
    return this.finish(request.model, resolution);
  }

  /** A name only a ModelDeployment gives meaning to: its tier, or its model while no replica is ready. */
  private discoveredName(name: string): ModelResolution | undefined {
    const { aliases, tiers, routes } = this.base.config;
    if (Object.hasOwn(aliases, name) || Object.hasOwn(tiers, name) || Object.hasOwn(routes, name))
      return undefined;
    if (this.table.resolveModel(name) !== undefined || this.table.adapterBase(name) !== undefined)
      return undefined;
    const tierModel = this.discovered.tierModel(name);
    if (tierModel !== undefined && tierModel !== name) {
      return { model: tierModel, tier: name, reason: `tier "${name}"`, fallbacks: [] };
    }
    const model = this.discovered.resolveName(name);
    if (model === undefined) return undefined;
    return { model, reason: model === name ? "" : `alias "${name}" → model "${model}"`, fallbacks: [] };
  }

  /** Adds the served model's fallbacks after the resolution's own, as served models, once each. */
  private finish(requested: string, resolution: ModelResolution): ModelResolution {
    // Configured routing hands endpoint aliases on as they are; the table knows their model.
    const name = resolution.model;
    const model = this.discovered.model(
      this.table.resolveModel(name) ?? this.discovered.resolveName(name) ?? name,
    );
    if (model === undefined) return resolution;
    if (this.table.resolveModel(model.model) === undefined) {
      const waking = this.discovered.wakeable?.(model.model) ?? [];
      if (waking.length > 0) {
        this.demand?.record(waking);
        throw new StrataError(
          "model_scaling_up",
          `model "${requested}" is scaled to zero: a replica is starting, retry shortly`,
        );
      }
      // Scaled to zero, rolling out or failing: the model exists and may come back, so callers may retry.
      throw new StrataError(
        "no_healthy_upstream",
        `no healthy endpoint for model "${requested}" (no replica is ready)`,
      );
    }
    if (model.fallbacks.length === 0) return resolution;
    const fallbacks = [...resolution.fallbacks];
    for (const name of model.fallbacks) {
      const served = this.servedModel(name);
      if (served !== undefined && served !== model.model && !fallbacks.includes(served))
        fallbacks.push(served);
    }
    return { ...resolution, fallbacks };
  }

  /** A fallback named by model, alias or tier, as the served model the gateway will ask for. */
  private servedModel(name: string): string | undefined {
    const tiers = this.base.config.tiers;
    const configuredTier = Object.hasOwn(tiers, name) ? tiers[name]?.model : undefined;
    return (
      this.table.resolveModel(configuredTier ?? name) ??
      this.discovered.resolveName(configuredTier ?? name) ??
      configuredTier
    );
  }
}
