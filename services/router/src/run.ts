import {
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
import { EndpointTable, type EndpointTransitionListener } from "./endpoints/endpoint-table.js";
import { EngineProbe } from "./endpoints/engine-probe.js";
import { HealthChecker } from "./endpoints/health-checker.js";
import { InFlightTracker } from "./endpoints/in-flight-tracker.js";
import { ModelRouter } from "./models/index.js";
import { createRouterMetrics } from "./observability/router-metrics.js";
import { Router } from "./routing/router.js";
import { routerServiceImpl } from "./routing/router-grpc.js";
import { StrategySelector } from "./scoring/strategy-selector.js";

export interface RunDeps {
  logger?: Logger;
  registry?: Registry;
  clock?: Clock;
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
    const inFlight = new InFlightTracker(config.inFlight.timeoutMs, deps.clock ?? systemClock);
    const metrics = createRouterMetrics(registry, { table, inFlight });
    const strategies = new StrategySelector(config.routing, { weights: config.weights });
    // Throws a ConfigError naming `models.` paths when tiers point at models no endpoint serves.
    const models = ModelRouter.create(config.models, {
      isServed: (name) => table.resolveModel(name) !== undefined,
    });
    lifecycle.add("model router", () => models.close());
    const router = new Router({ table, inFlight, strategies, models, metrics, logger });

    const ops = await startOpsServer({
      port: config.ops.port,
      registries: [registry],
      readiness: () => ready,
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

    const grpc = new GrpcServer({ logger, registry }).add(
      routerV1.RouterService,
      routerServiceImpl(router, metrics, logger),
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
