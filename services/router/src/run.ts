import {
  type Bus,
  createInProcessClient,
  createLogger,
  createMetricsRegistry,
  GrpcServer,
  Lifecycle,
  type Logger,
  parseConfig,
  type Registry,
  redactConfig,
  type ServiceClient,
  type ServiceImpl,
  startOpsServer,
} from "@strata/kit";
import { routerV1 } from "@strata/proto";
import { type Clock, systemClock } from "./clock.js";
import { type RouterConfig, type RouterConfigInput, routerConfigSchema } from "./config.js";
import { type Discovery, startDiscovery } from "./discovery/index.js";
import { EndpointTable } from "./endpoints/endpoint-table.js";
import { EngineProbe } from "./endpoints/engine-probe.js";
import { followEndpointChanges } from "./endpoints/follow-endpoint-changes.js";
import { HealthChecker } from "./endpoints/health-checker.js";
import { startInFlightSweeper } from "./endpoints/in-flight-sweeper.js";
import { InFlightTracker } from "./endpoints/in-flight-tracker.js";
import { OutlierDetector } from "./endpoints/outlier-detector.js";
import { createKvEventsRuntime, type KvEventsRuntime } from "./kv-events/kv-events-runtime.js";
import { startModelRouting } from "./models/index.js";
import { logEndpointTransition, reportEjection } from "./observability/endpoint-events.js";
import { registerKvEventsMetrics } from "./observability/kv-events-metrics.js";
import { createRouterMetrics, type RouterMetrics } from "./observability/router-metrics.js";
import { warnPreciseWithoutEvents } from "./routing/precise-without-events.js";
import { Router } from "./routing/router.js";
import { routerServiceImpl } from "./routing/router-grpc.js";
import { defaultStrategyDeps } from "./scoring/strategy-registry.js";
import { StrategySelector, type StrategySource } from "./scoring/strategy-selector.js";
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
  /**
   * A client that calls this router's RouterService directly, for a caller in this same process (the
   * embedded platform's gateway): the gRPC server's messages and errors without the loopback hop.
   */
  inProcessClient: ServiceClient<typeof routerV1.RouterService>;
  close(): Promise<void>;
}

/** What every start-up step may use; each registers what it starts with `lifecycle`. */
interface Boot {
  config: RouterConfig;
  logger: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
}

/**
 * Boots the router in-process: endpoints, a first round of health checks (so the first Route already
 * sees live engines), then the gRPC and ops servers. Tests and the local runner call this; main.ts
 * adds only config loading and signal handling. Shutdown runs in reverse order of start: the gRPC
 * server first, then the endpoint list's followers are detached (discovery runs until last, and a
 * change it makes must not reopen what was closed), then each component.
 */
export async function run(input: RouterConfigInput, deps: RunDeps = {}): Promise<RunningRouter> {
  const config: RouterConfig = parseConfig(routerConfigSchema, input);
  const logger = deps.logger ?? createLogger({ service: "router", level: config.logLevel });
  const boot: Boot = {
    config,
    logger,
    registry: deps.registry ?? createMetricsRegistry("router"),
    lifecycle: new Lifecycle(logger),
  };
  const { registry, lifecycle } = boot;
  const clock = deps.clock ?? systemClock;
  let ready = false;
  try {
    logger.info({ config: redactConfig(config) }, "starting router");
    const table = new EndpointTable(config.endpoints, config.health, logEndpointTransition(logger));
    // ModelDeployments' endpoints join the table before anything reads it (KV events, model routing).
    const discovery = await startDiscovery(config, { table, registry, logger });
    lifecycle.add("Kubernetes discovery", () => discovery.close());
    const inFlight = new InFlightTracker(config.inFlight.timeoutMs, clock);
    const outliers = new OutlierDetector(config.outlierDetection, {
      table,
      clock,
      onEjected: (ejection) => reportEjection(ejection, metrics, logger),
    });
    const metrics = createRouterMetrics(registry, { table, inFlight, outliers });
    const kv = await startKvEvents(boot, table);
    const strategies = selectStrategies(config, discovery, kv);
    const models = startModels(boot, table, discovery, metrics);
    const target = routerSyncTarget({ table, inFlight, strategies });
    const sync = startRouterSync(config, { bus: deps.bus, target, registry, logger });
    if (sync) lifecycle.add("router sync", () => sync.close());
    const router = new Router({
      table,
      inFlight,
      strategies,
      models,
      metrics,
      logger,
      outliers,
      listener: sync?.sync,
    });
    warnPreciseWithoutEvents(strategies, table, logger);

    const readiness = () => ready && discovery.synced;
    const ops = await startOpsServer({ port: config.ops.port, registries: [registry], readiness, logger });
    lifecycle.add("ops server", () => ops.close());
    const checker = await startHealthChecks(boot, table);
    lifecycle.add("in-flight sweeper", startInFlightSweeper(inFlight, config.inFlight.timeoutMs, logger));
    const stopFollowing = followEndpointChanges({ table, checker, router, outliers, kv, logger });
    lifecycle.add("endpoint-change followers", stopFollowing);
    // Endpoints discovered while the first health checks ran reach the followers registered just now.
    discovery.resync();
    const service = routerServiceImpl(discovery.service(router), metrics, logger);
    const grpcPort = await serveGrpc(boot, service);
    ready = true;
    logger.info({ grpcPort, opsPort: ops.port, endpoints: table.all().length }, "router listening");
    const close = () => {
      ready = false;
      return lifecycle.close();
    };
    const inProcessClient = createInProcessClient(routerV1.RouterService, service);
    return { grpcPort, opsPort: ops.port, inProcessClient, close };
  } catch (error) {
    await lifecycle.close();
    throw error;
  }
}

/** Precise routing's block index, fed by one subscription per endpoint that publishes KV events. */
async function startKvEvents({ config, logger, registry, lifecycle }: Boot, table: EndpointTable) {
  const kv = createKvEventsRuntime(config.kvEvents, logger);
  lifecycle.add("KV-event subscriptions", () => kv.pool.close());
  await kv.pool.sync(table.all().map((endpoint) => endpoint.config));
  registerKvEventsMetrics(registry, kv);
  return kv;
}

/** Each model's replica strategy: configured, else its ModelDeployment's, else the default. */
function selectStrategies(config: RouterConfig, discovery: Discovery, kv: KvEventsRuntime): StrategySource {
  const strategyDeps = { ...defaultStrategyDeps, precise: kv.precise };
  const configured = new StrategySelector(config.routing, { weights: config.weights }, strategyDeps);
  return discovery.strategies(configured, strategyDeps);
}

/**
 * Model routing (aliases, tiers, routes), from the configuration or its own watched file. Throws a
 * ConfigError naming `models.` paths when tiers point at models no endpoint serves.
 */
function startModels(
  { config, logger, lifecycle }: Boot,
  table: EndpointTable,
  discovery: Discovery,
  metrics: RouterMetrics,
): ReturnType<Discovery["models"]> {
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
  return discovery.models(models);
}

/** Probes every endpoint once and waits for that round, then keeps checking in the background. */
async function startHealthChecks({ config, logger, lifecycle }: Boot, table: EndpointTable) {
  const probe = new EngineProbe(config.health.timeoutMs);
  lifecycle.add("engine probe", () => probe.close());
  const checker = new HealthChecker({ table, probe: probe.probe, logger });
  lifecycle.add("health checker", () => checker.close());
  await checker.start();
  return checker;
}

async function serveGrpc(
  { config, logger, registry, lifecycle }: Boot,
  service: ServiceImpl<typeof routerV1.RouterService>,
) {
  const grpc = new GrpcServer({ logger, registry }).add(routerV1.RouterService, service);
  lifecycle.add("gRPC server", () => grpc.close());
  return grpc.listen(config.grpc.host, config.grpc.port);
}
