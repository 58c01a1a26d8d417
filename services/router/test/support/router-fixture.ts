import { Registry, silentLogger } from "@strata/kit";
import type { Clock } from "../../src/clock.js";
import { type EndpointConfig, endpointConfigSchema } from "../../src/config.js";
import type { HealthPolicy } from "../../src/endpoints/endpoint-health.js";
import { EndpointTable } from "../../src/endpoints/endpoint-table.js";
import { InFlightTracker } from "../../src/endpoints/in-flight-tracker.js";
import { type OutlierDetectionConfig, outlierDetectionSchema } from "../../src/endpoints/outlier-config.js";
import { type Ejection, OutlierDetector } from "../../src/endpoints/outlier-detector.js";
import { ModelRouter } from "../../src/models/index.js";
import { createRouterMetrics } from "../../src/observability/router-metrics.js";
import { Router, type RoutingListener } from "../../src/routing/router.js";
import type { Strategy } from "../../src/scoring/strategy.js";
import { createStrategy } from "../../src/scoring/strategy-registry.js";
import { singleStrategy } from "../../src/scoring/strategy-selector.js";
import type { RouterSyncTargetDeps } from "../../src/sync/sync-target.js";

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private time = 1_000_000) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

export const testPolicy: HealthPolicy = {
  intervalMs: 100,
  unhealthyAfterFailures: 2,
  unhealthyAfterConnectErrors: 3,
  backoffMaxMs: 1_000,
};

export function endpoint(id: string, model: string, extra: Partial<EndpointConfig> = {}): EndpointConfig {
  return endpointConfigSchema.parse({ id, url: `http://${id}.test:8000`, model, ...extra });
}

/** A Router over real collaborators, with every endpoint marked healthy unless told otherwise. */
export function routerFixture(
  configs: EndpointConfig[],
  options: {
    strategy?: string;
    params?: unknown;
    timeoutMs?: number;
    markHealthy?: boolean;
    /** A ready-made strategy; wins over `strategy`/`params`. */
    instance?: Strategy;
    /** Model-routing config (aliases, tiers, routes); none by default. */
    models?: unknown;
    /** Outlier detection settings; ejection is off unless given. */
    outliers?: Partial<OutlierDetectionConfig>;
    /** Builds the Router's listener from the fixture's state (e.g. a RouterSync applying to it). */
    listener?: (state: RouterSyncTargetDeps) => RoutingListener;
  } = {},
) {
  const clock = new ManualClock();
  const registry = new Registry();
  const table = new EndpointTable(configs, testPolicy);
  if (options.markHealthy ?? true) for (const state of table.all()) state.health.checkPassed();
  const inFlight = new InFlightTracker(options.timeoutMs ?? 60_000, clock);
  const ejections: Ejection[] = [];
  const outliers = options.outliers
    ? new OutlierDetector(outlierDetectionSchema.parse(options.outliers), {
        table,
        clock,
        onEjected: (ejection) => ejections.push(ejection),
      })
    : undefined;
  const metrics = createRouterMetrics(registry, { table, inFlight, ...(outliers ? { outliers } : {}) });
  const strategy = options.instance ?? createStrategy(options.strategy ?? "least-load", options.params ?? {});
  const strategies = singleStrategy(strategy);
  const models = ModelRouter.create(options.models ?? {}, {
    isServed: (name) => table.resolveModel(name) !== undefined || table.adapterBase(name) !== undefined,
  });
  const listener = options.listener?.({ table, inFlight, strategies });
  const router = new Router({
    table,
    inFlight,
    strategies,
    models,
    metrics,
    logger: silentLogger(),
    ...(outliers ? { outliers } : {}),
    ...(listener ? { listener } : {}),
  });
  const state = (id: string) => table.get(id)!;
  return { router, table, inFlight, clock, registry, state, strategy, outliers, ejections };
}
