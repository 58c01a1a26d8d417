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

/** Told the whole new endpoint list after every change; the table is already updated. */
export type EndpointsChangedListener = (endpoints: readonly EndpointState[]) => void;

/** The table's own view: only it may change an endpoint's settings (in place, see `replace`). */
interface TableEntry extends Omit<EndpointState, "config"> {
  config: EndpointConfig;
}

const noLoad: EngineLoad = { running: undefined, waiting: undefined, kvCacheUsage: undefined };

/**
 * The set of endpoints and the model names that reach them. Static configuration fills it today;
 * discovery (or a test) replaces its contents with `replace`, and listeners (health checks, KV-event
 * subscriptions, strategies) follow, which is why every lookup goes through this table.
 */
export class EndpointTable {
  private endpoints: TableEntry[] = [];
  private byId = new Map<string, TableEntry>();
  /** Served model name or alias → served model name. */
  private modelByName = new Map<string, string>();
  /** Adapter name → the base model of the endpoints serving it. */
  private baseByAdapter = new Map<string, string>();
  private byModel = new Map<string, EndpointState[]>();
  private readonly listeners: EndpointsChangedListener[] = [];

  constructor(
    configs: readonly EndpointConfig[],
    private readonly policy: HealthPolicy,
    private readonly onTransition?: EndpointTransitionListener,
  ) {
    this.index(configs.map((config) => this.createState(config)));
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

  /** For a LoRA adapter's name, the base model whose endpoints serve it. */
  adapterBase(name: string): string | undefined {
    return this.baseByAdapter.get(name);
  }

  /** Adapter names, each with its base model. */
  adapters(): ReadonlyMap<string, string> {
    return this.baseByAdapter;
  }

  /** Endpoints serving a served model (not an alias), in configuration order. */
  peers(model: string): readonly EndpointState[] {
    return this.byModel.get(model) ?? [];
  }

  /** Served model names, sorted, each with its endpoints. */
  models(): Map<string, EndpointState[]> {
    return new Map([...this.byModel].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Returns the function that stops telling `listener`. */
  onEndpointsChanged(listener: EndpointsChangedListener): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  /**
   * Replaces the endpoint list. An endpoint whose configuration is unchanged keeps its state (health,
   * load), so a refresh of the same list changes nothing. One still serving the same model at the same
   * address keeps its health and load under its new settings (aliases, routing, prices): an edit of
   * those must not make a healthy engine unroutable until its next health check. Anything else starts
   * over as `unknown`. A kept endpoint stays the same state object: health checks and anything else
   * following it by identity carry on undisturbed.
   */
  replace(configs: readonly EndpointConfig[]): void {
    const states = configs.map((config) => {
      const current = this.byId.get(config.id);
      if (!current) return this.createState(config);
      if (JSON.stringify(current.config) === JSON.stringify(config)) return current;
      if (current.config.url !== config.url || current.config.model !== config.model)
        return this.createState(config);
      current.config = config;
      return current;
    });
    this.index(states);
    // A copy: a listener may stop listening while being told.
    for (const listener of [...this.listeners]) listener(this.endpoints);
  }

  private createState(config: EndpointConfig): TableEntry {
    const health = new EndpointHealth(this.policy, (from, to, reason) =>
      this.onTransition?.(state.config, from, to, reason),
    );
    const state: TableEntry = { config, health, load: noLoad };
    return state;
  }

  private index(states: TableEntry[]): void {
    const byId = new Map<string, TableEntry>();
    const modelByName = new Map<string, string>();
    const baseByAdapter = new Map<string, string>();
    const byModel = new Map<string, EndpointState[]>();
    for (const endpoint of states) {
      const { id, model, aliases, adapters } = endpoint.config;
      byId.set(id, endpoint);
      modelByName.set(model, model);
      for (const alias of aliases) modelByName.set(alias, model);
      for (const adapter of adapters) baseByAdapter.set(adapter, model);
      const peers = byModel.get(model);
      if (peers) peers.push(endpoint);
      else byModel.set(model, [endpoint]);
    }
    // Swapped together so a lookup never mixes two lists.
    this.endpoints = states;
    this.byId = byId;
    this.modelByName = modelByName;
    this.baseByAdapter = baseByAdapter;
    this.byModel = byModel;
  }
}

export function clearedLoad(): EngineLoad {
  return noLoad;
}
