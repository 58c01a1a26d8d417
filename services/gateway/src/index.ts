import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type Bus,
  closeHttpServer,
  createGrpcClient,
  createLogger,
  createMetricsRegistry,
  type Database,
  GrpcServer,
  type Logger,
  migrate,
  type Registry,
  startOpsServer,
} from "@strata/kit";
import { gatewayV1, routerV1 } from "@strata/proto";
import { ApiKeyStore } from "./auth/api-key-store.js";
import type { GatewayConfig } from "./config.js";
import { gatewayMigrations, gatewaySchema } from "./db/migrations.js";
import { gatewayService } from "./grpc/gateway-service.js";
import { createHttpApi } from "./http/http-api.js";
import { CompletionPipeline } from "./pipeline/completion-pipeline.js";
import { createGatewayMetrics } from "./pipeline/gateway-metrics.js";
import { StreamingRouterClient } from "./routing/streaming-router-client.js";
import { EngineClient } from "./upstream/engine-client.js";
import { LedgerWriter } from "./usage/ledger-writer.js";
import { UsageRecorder } from "./usage/usage-recorder.js";

export { ApiKeyStore } from "./auth/api-key-store.js";
export { type GatewayConfig, gatewayConfigSchema, gatewayEnv, loadGatewayConfig } from "./config.js";

export interface GatewayDeps {
  db: Database;
  bus: Bus;
  logger?: Logger;
  registry?: Registry;
}

export interface RunningGateway {
  httpPort: number;
  grpcPort: number;
  opsPort: number;
  keys: ApiKeyStore;
  close(): Promise<void>;
}

/** Boots the gateway in-process: the process entry, the local runner and tests all start it this way. */
export async function run(config: GatewayConfig, deps: GatewayDeps): Promise<RunningGateway> {
  const logger = deps.logger ?? createLogger({ service: "gateway", level: config.logLevel });
  const registry = deps.registry ?? createMetricsRegistry("gateway");
  await migrate(deps.db, gatewaySchema, gatewayMigrations);

  const keys = new ApiKeyStore({
    db: deps.db,
    hashKey: config.keyHashSecret,
    cacheTtlMs: config.keyCacheTtlMs,
  });
  const routerClient = createGrpcClient(routerV1.RouterService, config.routerAddress);
  // Route and Report ride one long-lived stream; unary calls cost several times more CPU each.
  const router = new StreamingRouterClient({ client: routerClient, logger });
  const engines = new EngineClient(config.upstream);
  const metrics = createGatewayMetrics(registry);
  const usage = new UsageRecorder(deps.bus, logger, metrics.usagePublishFailures);
  const ledger = new LedgerWriter({ bus: deps.bus, db: deps.db, logger });
  await ledger.start();
  const pipeline = new CompletionPipeline({ router, engines, usage, metrics, logger });

  const httpServer = createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 0 },
    createHttpApi({ keys, pipeline, router, maxBodyBytes: config.http.maxBodyBytes, logger }),
  );
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(config.http.port, config.http.host, resolve);
  });
  const grpcServer = new GrpcServer({ logger, registry, maxReceiveMessageBytes: config.http.maxBodyBytes });
  grpcServer.add(gatewayV1.GatewayService, gatewayService({ keys, pipeline, router }));
  const grpcPort = await grpcServer.listen(config.grpc.host, config.grpc.port);
  let closing = false;
  const ops = await startOpsServer({
    port: config.opsPort,
    registries: [registry],
    logger,
    readiness: () => !closing,
  });
  const httpPort = (httpServer.address() as AddressInfo).port;
  logger.info({ httpPort, grpcPort, opsPort: ops.port, router: config.routerAddress }, "gateway listening");

  return {
    httpPort,
    grpcPort,
    opsPort: ops.port,
    keys,
    async close() {
      closing = true;
      await Promise.all([closeHttpServer(httpServer), grpcServer.close()]);
      await usage.flush();
      await ledger.stop();
      await engines.close();
      router.close();
      routerClient.close();
      await ops.close();
    },
  };
}
