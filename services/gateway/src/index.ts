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
  type ServiceClient,
  startOpsServer,
} from "@strata/kit";
import { gatewayAdminV1, gatewayJobsV1, gatewayV1, routerV1 } from "@strata/proto";
import { createAdminRouter } from "./admin/create-admin-router.js";
import { registerTenancy } from "./admin/tenancy.js";
import { ApiKeyStore } from "./auth/api-key-store.js";
import { modelAuthorizer } from "./auth/authorize-model.js";
import { KeyInvalidation } from "./auth/key-invalidation.js";
import { createResponseCache } from "./cache/create-response-cache.js";
import type { GatewayConfig } from "./config.js";
import { gatewayMigrations, gatewaySchema } from "./db/migrations.js";
import { createEmbedder } from "./embeddings/create-embedder.js";
import { EmbeddingsService } from "./embeddings/embeddings-service.js";
import { gatewayService } from "./grpc/gateway-service.js";
import { createHttpApi } from "./http/http-api.js";
import { createJobs } from "./jobs/create-jobs.js";
import { createLimits } from "./limits/create-limits.js";
import { CompletionPipeline } from "./pipeline/completion-pipeline.js";
import { createGatewayMetrics } from "./pipeline/gateway-metrics.js";
import { followReportedPrices } from "./pricing/reported-prices.js";
import { createDispatcher } from "./providers/create-dispatcher.js";
import { withExtraModels } from "./providers/model-list.js";
import { connectRedis } from "./redis/redis-client.js";
import { StreamingRouterClient } from "./routing/streaming-router-client.js";
import { LedgerWriter } from "./usage/ledger-writer.js";
import { UsageRecorder } from "./usage/usage-recorder.js";

export { ApiKeyStore } from "./auth/api-key-store.js";
export {
  type GatewayConfig,
  gatewayConfigSchema,
  gatewayEnv,
  loadGatewayConfig,
  parseGatewayConfig,
} from "./config.js";
export { deadLetterKinds } from "./jobs/dead-letter-mover.js";

export interface GatewayDeps {
  db: Database;
  bus: Bus;
  logger?: Logger;
  registry?: Registry;
  /**
   * The router, when it runs in this same process (the embedded platform): called directly instead
   * of over gRPC to `routerAddress`. Its owner closes it.
   */
  router?: ServiceClient<typeof routerV1.RouterService>;
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
    logger,
  });
  // Revoked or changed keys are dropped from every replica's cache at once (NATS broadcast).
  const keyInvalidation = new KeyInvalidation({ bus: deps.bus, keys, logger });
  keyInvalidation.start();
  const router: RouterCalls = deps.router ?? connectRouter(config.routerAddress, logger);
  const dispatch = await createDispatcher(config.providers, {
    router,
    upstream: config.upstream,
    registry,
    logger,
  });
  // The embedding backend behind /v1/embeddings and the semantic cache.
  const embedder = createEmbedder(config.embeddings);
  // /v1/models lists the router's models, the gateway's own aliases and its embedding model.
  const models = withExtraModels(router, () => [...dispatch.chains.aliasNames(), embedder.model]);
  const metrics = createGatewayMetrics(registry);
  const usage = new UsageRecorder(deps.bus, logger, metrics.usagePublishFailures);
  const ledger = new LedgerWriter({ bus: deps.bus, db: deps.db, logger, ...config.usageLedger });
  await ledger.start();
  const { commandTimeoutMs } = config.rateLimits.redis;
  const redis = config.redisUrl
    ? await connectRedis({ url: config.redisUrl, commandTimeoutMs, logger })
    : undefined;
  // admit/settle: rate limits, budgets and prices.
  const limits = await createLimits({ config, db: deps.db, bus: deps.bus, redis, registry, logger });
  // Prices the router reports for ModelDeployments price what the pricing configuration does not.
  const reportedPrices = followReportedPrices({ router, prices: limits.prices, logger });
  // Embeddings pass the completions' authorize and admit steps: allowed models, limits, budgets, prices.
  const embeddings = new EmbeddingsService({
    embedder,
    usage,
    authorizer: modelAuthorizer,
    admitter: limits.admitter,
    metrics,
    logger,
  });
  // cache lookup/store: exact, then semantic (embedded by the gateway's embedding backend).
  const responseCache = await createResponseCache({
    config: config.cache,
    redisUrl: config.redisUrl,
    db: deps.db,
    embedder,
    registry,
    prices: limits.prices,
    logger,
  });
  const pipeline = new CompletionPipeline({
    dispatcher: dispatch.dispatcher,
    usage,
    metrics,
    logger,
    authorizer: modelAuthorizer,
    admitter: limits.admitter,
    cache: responseCache.cache,
  });
  // Admin routes (`/admin/v1/...`): each concern registers its own on this router.
  const admin = await createAdminRouter({
    config: config.admin,
    keys,
    maxBodyBytes: config.http.maxBodyBytes,
  });
  limits.registerAdminRoutes(admin);
  // Async jobs, the Files and Batch APIs and their workers (JetStream work queue, dead letters).
  const jobs = await createJobs({
    config: config.jobs,
    keyHashSecret: config.keyHashSecret,
    db: deps.db,
    bus: deps.bus,
    pipeline,
    keys,
    maxBodyBytes: config.http.maxBodyBytes,
    registry,
    logger,
  });
  jobs.registerAdminRoutes(admin);
  // After the jobs module: the gRPC AdminService shows and rotates the webhook secrets it owns.
  const tenancy = registerTenancy(admin, {
    db: deps.db,
    hashKey: config.keyHashSecret,
    invalidation: keyInvalidation,
    logger,
    webhookSecrets: jobs.webhookSecrets,
  });

  const httpServer = createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 0 },
    createHttpApi({
      keys,
      pipeline,
      router: models,
      maxBodyBytes: config.http.maxBodyBytes,
      logger,
      admin,
      embeddings,
      asyncApi: jobs.http,
    }),
  );
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(config.http.port, config.http.host, resolve);
  });
  const grpcServer = new GrpcServer({ logger, registry, maxReceiveMessageBytes: config.http.maxBodyBytes });
  grpcServer.add(gatewayV1.GatewayService, gatewayService({ keys, pipeline, router: models, embeddings }));
  grpcServer.add(gatewayAdminV1.AdminService, tenancy.service);
  grpcServer.add(gatewayJobsV1.JobsService, jobs.grpcService);
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
      // Running jobs are handed back to the queue while the pipeline can still settle them.
      await jobs.close();
      keyInvalidation.stop();
      await keys.close();
      reportedPrices.close();
      await limits.close();
      await responseCache.close();
      await embedder.close?.();
      redis?.disconnect();
      await usage.flush();
      await ledger.stop();
      await dispatch.close();
      if (router !== deps.router) router.close();
      await ops.close();
    },
  };
}

type RouterCalls = Pick<
  ServiceClient<typeof routerV1.RouterService>,
  "route" | "report" | "listModels" | "close"
>;

/** The router over gRPC: Route and Report ride one long-lived stream (unary calls cost several times more CPU each). */
function connectRouter(address: string, logger: Logger): RouterCalls {
  const client = createGrpcClient(routerV1.RouterService, address);
  const router = new StreamingRouterClient({ client, logger });
  return {
    route: (request, options) => router.route(request, options),
    report: (request, options) => router.report(request, options),
    listModels: (request, options) => router.listModels(request, options),
    close() {
      router.close();
      client.close();
    },
  };
}
