import type { EndpointConfig } from "../config.js";
import type { EngineLoad } from "../engine-metrics/engine-load.js";
import { EndpointHealth, type HealthPolicy, type HealthStatus } from "./endpoint-health.js";

/** What the router knows about one engine endpoint: its configuration, health and last scraped load. */
export interface EndpointState {
  readonly config: EndpointConfig;
  readonly health: EndpointHealth;
  load: EngineLoad;
}

export type EndpointTransitionListener = (
  endpoint: EndpointConfig,
  from: HealthStatus,
  to: HealthStatus,
  reason: string,
) => void;

const noLoad: EngineLoad = { running: undefined, waiting: undefined, kvCacheUsage: undefined };

/**
 * The set of endpoints and the model names that reach them. Static for now; discovery from
 * Kubernetes will add and remove entries here, which is why lookups go through this table.
 */
export class EndpointTable {
  private readonly endpoints: EndpointState[];
  private readonly byId = new Map<string, EndpointState>();
  /** Served model name or alias → served model name. */
  private readonly modelByName = new Map<string, string>();

  constructor(
    configs: readonly EndpointConfig[],
    policy: HealthPolicy,
    onTransition?: EndpointTransitionListener,
  ) {
    this.endpoints = configs.map((config) => ({
      config,
      health: new EndpointHealth(policy, (from, to, reason) => onTransition?.(config, from, to, reason)),
      load: noLoad,
    }));
    for (const endpoint of this.endpoints) {
      this.byId.set(endpoint.config.id, endpoint);
      this.modelByName.set(endpoint.config.model, endpoint.config.model);
      for (const alias of endpoint.config.aliases) this.modelByName.set(alias, endpoint.config.model);
    }
  }

  all(): readonly EndpointState[] {
    return this.endpoints;
  }

  get(id: string): EndpointState | undefined {
    return this.byId.get(id);
  }

  /** The served model a requested name (model or alias) resolves to, if any endpoint serves it. */
  resolveModel(name: string): string | undefined {
    return this.modelByName.get(name);
  }

  /** Served model names, sorted, each with its endpoints. */
  models(): Map<string, EndpointState[]> {
    const models = new Map<string, EndpointState[]>();
    for (const endpoint of this.endpoints) {
      const list = models.get(endpoint.config.model) ?? [];
      list.push(endpoint);
      models.set(endpoint.config.model, list);
    }
    return new Map([...models].sort(([a], [b]) => a.localeCompare(b)));
  }
}

export function clearedLoad(): EngineLoad {
  return noLoad;
}
