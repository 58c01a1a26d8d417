import {
  type Bus,
  createLogger,
  createMetricsRegistry,
  GrpcServer,
  Lifecycle,
  type Logger,
  parseConfig,
  type Registry,
  redactConfig,
  startOpsServer,
} from "@strata/kit";
import { routerV1 } from "@strata/proto";
import { type Clock, systemClock } from "./clock.js";
import { type RouterConfig, type RouterConfigInput, routerConfigSchema } from "./config.js";
import { startDiscovery } from "./discovery/index.js";
import { EndpointTable, type EndpointTransitionListener } from "./endpoints/endpoint-table.js";
import { EngineProbe } from "./endpoints/engine-probe.js";
import { HealthChecker } from "./endpoints/health-checker.js";
import { InFlightTracker } from "./endpoints/in-flight-tracker.js";
import { createKvEventsRuntime } from "./kv-events/kv-events-runtime.js";
import { startModelRouting } from "./models/index.js";
import { registerKvEventsMetrics } from "./observability/kv-events-metrics.js";
import { createRouterMetrics, type RouterMetrics } from "./observability/router-metrics.js";
import { Router } from "./routing/router.js";
import { routerServiceImpl } from "./routing/router-grpc.js";
import { createOutlierDetector, followEndpointChanges, warnPreciseWithoutEvents } from "./run-parts.js";
import { defaultStrategyDeps } from "./scoring/strategy-registry.js";
import { StrategySelector } from "./scoring/strategy-selector.js";
import { routerSyncTarget, startRouterSync } from "./sync/index.js";

export interface RunDeps {
  logger?: Logger;
  registry?: Registry;
  clock?: Clock;
  /** Shares routing state with peer replicas over this bus instead of `natsUrl`; its owner closes it. */
  bus?: Pick<Bus, "broadcast" | "subscribe">;
}

export interface RunningRouter {
  grpcPort: number;
  opsPort: number;
  close(): Promise<void>;
}

/** Sweeping more often than this buys nothing: the timeout it enforces is minutes long. */
const maxSweepIntervalMs = 60_000;

/**
 * Boots the router in-process: endpoints, a first round of health checks (so the first Route already
 * sees live engines), then the gRPC and ops servers. Tests and the local runner call this; main.ts
 * adds only config loading and signal handling.
 */
export async function run(input: RouterConfigInput, deps: RunDeps = {}): Promise<RunningRouter> {
  const config: RouterConfig = parseConfig(routerConfigSchema, input);
  const logger = deps.logger ?? createLogger({ service: "router", level: config.logLevel });
  const registry = deps.registry ?? createMetricsRegistry("router");
  const lifecycle = new Lifecycle(logger);
  let ready = false;
  try {
    logger.info({ config: redactConfig(config) }, "starting router");
    const table = new EndpointTable(config.endpoints, config.health, logTransition(logger));
    // ModelDeployments' endpoints join the table before anything reads it (KV events, model routing).
    const discovery = await startDiscovery(config, { table, registry, logger });
    lifecycle.add("Kubernetes discovery", () => discovery.close());
    const clock = deps.clock ?? systemClock;
    const inFlight = new InFlightTracker(config.inFlight.timeoutMs, clock);
    const outliers = createOutlierDetector(config, table, clock, logger, () => metrics);
    const metrics: RouterMetrics = createRouterMetrics(registry, { table, inFlight, outliers });
    const kv = createKvEventsRuntime(config.kvEvents, logger);
    lifecycle.add("KV-event subscriptions", () => kv.pool.close());
    await kv.pool.sync(table.all().map((endpoint) => endpoint.config));
    registerKvEventsMetrics(registry, kv);
    warnPreciseWithoutEvents(config, table, logger);
    const strategyDeps = { ...defaultStrategyDeps, precise: kv.precise };
    const strategies = discovery.strategies(
      new StrategySelector(config.routing, { weights: config.weights }, strategyDeps),
      strategyDeps,
    );
    // Throws a ConfigError naming `models.` paths when tiers point at models no endpoint serves.
    const { models, watch } = startModelRouting(config, {
      isServed: (name) =>
        table.resolveModel(name) !== undefined ||
        table.adapterBase(name) !== undefined ||
        discovery.serves(name),
      logger,
      reloads: metrics.modelReloads,
    });
    lifecycle.add("model router", () => models.close());
    if (watch) lifecycle.add("model routing file watch", () => watch.close());
    const target = routerSyncTarget({ table, inFlight, strategies });
    const sync = startRouterSync(config, { bus: deps.bus, target, registry, logger });
    if (sync) lifecycle.add("router sync", () => sync.close());
    const router = new Router({
      table,
      inFlight,
      strategies,
      models: discovery.models(models),
      metrics,
      logger,
      outliers,
      listener: sync?.sync,
    });

    const ops = await startOpsServer({
      port: config.ops.port,
      registries: [registry],
      readiness: () => ready && discovery.synced,
      logger,
    });
    lifecycle.add("ops server", () => ops.close());
    const probe = new EngineProbe(config.health.timeoutMs);
    lifecycle.add("engine probe", () => probe.close());
    const checker = new HealthChecker({ table, probe: probe.probe, logger });
    lifecycle.add("health checker", () => checker.close());
    const sweeper = startSweeper(inFlight, config.inFlight.timeoutMs, logger);
    lifecycle.add("in-flight sweeper", () => clearInterval(sweeper));
    await checker.start();
    followEndpointChanges({ table, checker, router, outliers, kv, logger });
    // Endpoints discovered while the first health checks ran reach the listeners registered just now.
    discovery.resync();

    const grpc = new GrpcServer({ logger, registry }).add(
      routerV1.RouterService,
      routerServiceImpl(discovery.service(router), metrics, logger),
    );
    lifecycle.add("gRPC server", () => grpc.close());
    const grpcPort = await grpc.listen(config.grpc.host, config.grpc.port);
    ready = true;
    logger.info({ grpcPort, opsPort: ops.port, endpoints: config.endpoints.length }, "router listening");
    return {
      grpcPort,
      opsPort: ops.port,
      close: () => {
        ready = false;
        return lifecycle.close();
      },
    };
  } catch (error) {
    await lifecycle.close();
    throw error;
  }
}

function startSweeper(inFlight: InFlightTracker, timeoutMs: number, logger: Logger): NodeJS.Timeout {
  const timer = setInterval(
    () => {
      const swept = inFlight.sweep();
      if (swept > 0) logger.warn({ swept, timeoutMs }, "dropped in-flight requests never reported back");
    },
    Math.min(timeoutMs, maxSweepIntervalMs),
  );
  timer.unref();
  return timer;
}

function logTransition(logger: Logger): EndpointTransitionListener {
  return (endpoint, from, to, reason) => {
    const fields = { endpoint: endpoint.id, model: endpoint.model, from, to, reason };
    if (to === "unhealthy") logger.warn(fields, "endpoint unhealthy");
    else logger.info(fields, `endpoint ${to}`);
  };
}
