import { Counter, Gauge, type Logger, type Registry } from "@strata/kit";
import type { RouterConfig } from "../config.js";
import type { EndpointTable } from "../endpoints/endpoint-table.js";
import type { RouterCalls } from "../routing/router.js";
import type { StrategyDeps } from "../scoring/strategy.js";
import { createStrategy } from "../scoring/strategy-registry.js";
import { type StrategySource, sharedParams } from "../scoring/strategy-selector.js";
import { withDiscoveredModels } from "./discovered-model-list.js";
import { DiscoveredModelRouter, type ModelResolver } from "./discovered-model-router.js";
import { DiscoveredRouting } from "./discovered-routing.js";
import type { DiscoveredState, StaticNames } from "./discovered-state.js";
import { DiscoveredStrategies } from "./discovered-strategies.js";

/**
 * What the composition root asks of discovery. Without Kubernetes discovery every method hands back
 * what it was given, so run.ts wires both cases the same way.
 */
export interface Discovery {
  /** False until the first complete lists arrived (the router is not ready before); true without discovery. */
  readonly synced: boolean;
  /** Whether a ModelDeployment serves the name (model, alias or tier), ready replicas or not. */
  serves(name: string): boolean;
  strategies(base: StrategySource, deps: StrategyDeps): StrategySource;
  models(base: ModelResolver): ModelResolver | DiscoveredModelRouter;
  service(router: RouterCalls): RouterCalls;
  /** Publishes the current endpoints again, for endpoint-table listeners registered after start. */
  resync(): void;
  close(): Promise<void>;
}

export interface DiscoveryDeps {
  table: EndpointTable;
  registry: Registry;
  logger: Logger;
}

const staticDiscovery: Discovery = {
  synced: true,
  serves: () => false,
  strategies: (base) => base,
  models: (base) => base,
  service: (router) => router,
  resync: () => {},
  close: async () => {},
};

/**
 * Starts Kubernetes discovery when configured and waits (bounded) for its first complete view, so the
 * first Route and model-routing checks already see the discovered endpoints. Discovered endpoints join
 * the configured ones in the endpoint table; their health is checked like any other.
 */
export async function startDiscovery(config: RouterConfig, deps: DiscoveryDeps): Promise<Discovery> {
  if (!config.kubernetes.enabled) return staticDiscovery;
  // Loaded only here: the Kubernetes client costs a process about 130 MB of memory and 0.8 s to load,
  // and a router without discovery (the embedded platform, a router outside a cluster) never uses it.
  const { KubernetesDiscovery } = await import("./kubernetes-discovery.js");
  const { table, logger } = deps;
  const routing = new DiscoveredRouting();
  const metrics = createDiscoveryMetrics(deps.registry);
  let modelRouting: ModelResolver | undefined;
  let reported = new Set<string>();
  const apply = (state: DiscoveredState) => {
    // Settings first: the table's listeners (strategies) read them when told of the new endpoints.
    routing.update(state);
    table.replace([...config.endpoints, ...state.endpoints]);
    metrics.endpoints.set(state.endpoints.length);
    metrics.models.set(state.models.size);
    // Each problem once while it lasts, not on every change of anything else.
    for (const problem of state.problems) if (!reported.has(problem)) logger.warn({ problem }, problem);
    reported = new Set(state.problems);
  };
  const staticNames = staticNamesOf(config, () => modelRouting);
  const discovery = new KubernetesDiscovery(config.kubernetes, {
    onState: apply,
    staticNames,
    onWatchError: (resource) => metrics.watchErrors.inc({ resource }),
    onDemandWrite: (result) => metrics.demandWrites.inc({ result }),
    logger,
  });
  const synced = await discovery.start();
  if (synced) logger.info({ endpoints: table.all().length }, "Kubernetes discovery synced");
  else
    logger.error(
      { timeoutMs: config.kubernetes.initialSyncTimeoutMs },
      "Kubernetes discovery not synced yet; not ready until it is",
    );
  metrics.synced(() => discovery.synced);
  return {
    get synced() {
      return discovery.synced;
    },
    serves: (name) => routing.resolveName(name) !== undefined,
    strategies: (base, strategyDeps) =>
      new DiscoveredStrategies(base, config.routing, routing, (name) =>
        createStrategy(name, sharedParams(config.routing, name, { weights: config.weights }), strategyDeps),
      ),
    models: (base) => {
      modelRouting = base;
      // Conflicts with the configured routing names are reported now that they are known.
      discovery.rebuild();
      return new DiscoveredModelRouter(base, routing, table, discovery.demand);
    },
    service: (router) => withDiscoveredModels(router, routing),
    resync: () => discovery.rebuild(),
    close: () => discovery.close(),
  };
}

function staticNamesOf(config: RouterConfig, models: () => ModelResolver | undefined): () => StaticNames {
  const endpointNames = new Map<string, { model: string; kind: "model" | "alias" | "adapter" }>();
  for (const { model, aliases, adapters } of config.endpoints) {
    endpointNames.set(model, { model, kind: "model" });
    for (const alias of aliases) endpointNames.set(alias, { model, kind: "alias" });
    for (const adapter of adapters) endpointNames.set(adapter, { model, kind: "adapter" });
  }
  return () => {
    const routing = models()?.config;
    const routingNames = new Set(
      routing
        ? [...Object.keys(routing.aliases), ...Object.keys(routing.tiers), ...Object.keys(routing.routes)]
        : [],
    );
    return { endpointNames, routingNames };
  };
}

function createDiscoveryMetrics(registry: Registry) {
  const endpoints = new Gauge({
    name: "strata_router_discovered_endpoints",
    help: "Ready engine endpoints discovered from ModelDeployments' EndpointSlices.",
    registers: [registry],
  });
  const models = new Gauge({
    name: "strata_router_discovered_models",
    help: "Served models with at least one ModelDeployment.",
    registers: [registry],
  });
  const watchErrors = new Counter({
    name: "strata_router_discovery_watch_errors_total",
    help: "Failed lists or watches of the Kubernetes API, by resource; each is retried with back-off.",
    labelNames: ["resource"],
    registers: [registry],
  });
  const demandWrites = new Counter({
    name: "strata_router_demand_writes_total",
    help: "Demand annotations written on ModelDeployments scaled to zero (to wake them), by result.",
    labelNames: ["result"],
    registers: [registry],
  });
  const synced = (read: () => boolean) =>
    new Gauge({
      name: "strata_router_discovery_synced",
      help: "1 once ModelDeployments and EndpointSlices have been listed, else 0.",
      registers: [registry],
      collect() {
        this.set(read() ? 1 : 0);
      },
    });
  return { endpoints, models, watchErrors, demandWrites, synced };
}
