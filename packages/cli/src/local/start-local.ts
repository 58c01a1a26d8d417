import { join, resolve } from "node:path";
import { startEngineSim } from "@strata/engine-sim";
import { type ApiKeyStore, run as runGateway } from "@strata/gateway";
import {
  type Bus,
  connectDatabase,
  createMemoryBus,
  createNatsBus,
  type Database,
  Lifecycle,
  type Logger,
  startEmbeddedPostgres,
} from "@strata/kit";
import { type RouterConfig, run as runRouter } from "@strata/router";
import { adminTokenFileName } from "../commands/admin-cli-settings.js";
import { embeddedGatewayConfig } from "./embedded-gateway-config.js";
import { embeddedRouterConfig } from "./embedded-router-config.js";
import type { LocalConfig } from "./local-config.js";
import { fileSecret, writeSecret } from "./local-secrets.js";
import { overlay } from "./settings-layers.js";

/** Knobs tests and benchmarks turn; a plain `strata up` uses none of them. */
export interface LocalOverrides {
  engine?: Partial<Parameters<typeof startEngineSim>[0]>;
  /** More endpoints for the router beside the engine-sim replicas (e.g. one that is down). */
  extraEndpoints?: { id: string; url: string; model: string }[];
  routerHealthIntervalMs?: number;
  /**
   * Router settings by their config path, e.g. `{ routing: { defaultStrategy: "least-load" } }`, laid
   * over the environment's (`config.environment`) and the platform's own.
   */
  router?: Record<string, unknown>;
  /**
   * Gateway settings by their config path, e.g. `{ http: { maxBodyBytes: 1024 } }`, laid over the
   * environment's (`config.environment`) and the platform's own.
   */
  gateway?: Record<string, unknown>;
  /**
   * How the gateway reaches the router: "in-process" (the default) calls it directly; "grpc" goes
   * over its gRPC port as a gateway in another process would, e.g. to measure that hop.
   */
  routerTransport?: "in-process" | "grpc";
}

export interface LocalPlatform {
  gatewayUrl: string;
  gatewayGrpcAddress: string;
  /** The gateway's ops server: `/metrics`, `/healthz`, `/readyz`. */
  gatewayOpsUrl: string;
  routerAddress: string;
  engineUrls: string[];
  apiKey: string;
  apiKeyFile: string;
  /** The gateway's admin token (admin HTTP API, gRPC AdminService, `strata tenants|projects|keys`). */
  adminToken: string;
  adminTokenFile: string;
  engines: Awaited<ReturnType<typeof startEngineSim>>[];
  database: Database;
  bus: Bus;
  close(): Promise<void>;
}

/**
 * Every service in one process on embedded defaults: PGlite on disk, the in-process bus and engine-sim
 * replicas, unless DATABASE_URL / NATS_URL point at real servers. Each service still listens on its
 * own port and speaks its real protocol.
 */
export async function startLocal(
  config: LocalConfig,
  logger: Logger,
  overrides: LocalOverrides = {},
): Promise<LocalPlatform> {
  const home = resolve(config.home);
  const lifecycle = new Lifecycle(logger);
  try {
    const database = await openDatabase(config, home, lifecycle, logger);
    const bus = config.natsUrl
      ? await createNatsBus({ url: config.natsUrl, name: "strata-local", logger })
      : createMemoryBus();
    lifecycle.add("bus", () => bus.close());

    const engines = [];
    for (let index = 0; index < config.engineReplicas; index++) {
      const port = config.enginePort === 0 ? 0 : config.enginePort + index;
      const engine = await startEngineSim(
        { ...overrides.engine, port, host: "127.0.0.1", model: config.model },
        { logger: logger.child({ service: "engine-sim", replica: index }) },
      );
      lifecycle.add(`engine-sim-${index}`, () => engine.close());
      engines.push(engine);
    }

    const routerConfig = localRouterConfig(
      config,
      engines.map((engine) => engine.url),
      overrides,
      logger,
    );
    const router = await runRouter(routerConfig, { logger: logger.child({ service: "router" }) });
    lifecycle.add("router", () => router.close());
    const routerAddress = `127.0.0.1:${router.grpcPort}`;

    const keyHashSecret = await fileSecret(join(home, "key-hash-secret"));
    // Kept beside the dev API key, where the `strata` admin commands look for it by default.
    const adminTokenFile = join(home, adminTokenFileName);
    const adminToken = await fileSecret(adminTokenFile);
    // The environment's gateway settings (hosted providers, aliases, prices, limits…) apply as they
    // do to a standalone gateway; the platform decides only its ports, router and admin token.
    const gatewaySettings = embeddedGatewayConfig({
      environment: config.environment,
      defaults: { http: { host: "0.0.0.0" }, grpc: { host: "0.0.0.0" }, opsPort: 0, keyHashSecret },
      platform: {
        http: { port: config.gatewayPort },
        grpc: { port: config.gatewayGrpcPort },
        routerAddress,
        admin: { token: adminToken },
        redisUrl: config.redisUrl,
        logLevel: config.logLevel,
      },
      overrides: overrides.gateway,
    });
    if (gatewaySettings.unused.length > 0)
      logger.warn(
        { variables: gatewaySettings.unused },
        "these variables are ignored: the local platform sets its gateway's router and admin token itself",
      );
    const gateway = await runGateway(gatewaySettings.config, {
      db: database,
      bus,
      logger: logger.child({ service: "gateway" }),
      // Both services live in this process: a loopback gRPC call would cost more than the routing.
      ...(overrides.routerTransport === "grpc" ? {} : { router: router.inProcessClient }),
    });
    lifecycle.add("gateway", () => gateway.close());

    const apiKeyFile = join(home, "dev-api-key");
    const apiKey = await ensureDevKey(gateway.keys, apiKeyFile);
    return {
      gatewayUrl: `http://127.0.0.1:${gateway.httpPort}`,
      gatewayGrpcAddress: `127.0.0.1:${gateway.grpcPort}`,
      gatewayOpsUrl: `http://127.0.0.1:${gateway.opsPort}`,
      routerAddress,
      engineUrls: engines.map((engine) => engine.url),
      engines,
      apiKey,
      apiKeyFile,
      adminToken,
      adminTokenFile,
      database,
      bus,
      close: () => lifecycle.close(),
    };
  } catch (error) {
    await lifecycle.close();
    throw error;
  }
}

/**
 * The environment's router settings (ROUTER_*, ROUTER_CONFIG_FILE: strategies, model routing, health
 * checks…) apply as they do to a standalone router; the platform decides only where it listens, the
 * endpoints it started, its log level and that it runs alone, and names what it ignores.
 */
function localRouterConfig(
  config: LocalConfig,
  engineUrls: string[],
  overrides: LocalOverrides,
  logger: Logger,
): RouterConfig {
  const settings = embeddedRouterConfig({
    environment: config.environment,
    defaults: { ops: { port: 0 } },
    platform: {
      grpc: { host: "127.0.0.1", port: config.routerPort },
      endpoints: [
        ...engineUrls.map((url, index) => ({ id: `sim-${index}`, url, model: config.model })),
        ...(overrides.extraEndpoints ?? []),
      ],
      logLevel: config.logLevel,
    },
    overrides: overlay(
      overrides.routerHealthIntervalMs ? { health: { intervalMs: overrides.routerHealthIntervalMs } } : {},
      overrides.router ?? {},
    ),
  });
  if (settings.unused.length > 0)
    logger.warn(
      { variables: settings.unused },
      "these variables are ignored: the local platform sets its router's address, endpoints, log level and peers itself",
    );
  return settings.config;
}

async function openDatabase(
  config: LocalConfig,
  home: string,
  lifecycle: Lifecycle,
  logger: Logger,
): Promise<Database> {
  let url = config.databaseUrl;
  let maxConnections: number | undefined;
  if (!url) {
    const embedded = await startEmbeddedPostgres({ dataDir: join(home, "pgdata"), logger });
    lifecycle.add("embedded-postgres", () => embedded.close());
    url = embedded.url;
    maxConnections = embedded.recommendedPoolSize;
  }
  const database = await connectDatabase({ url, logger, ...(maxConnections ? { maxConnections } : {}) });
  lifecycle.add("database", () => database.close());
  return database;
}

/** Keeps the dev key across restarts while it still works; otherwise makes a new one for a "dev" tenant. */
async function ensureDevKey(keys: ApiKeyStore, file: string): Promise<string> {
  const existing = await fileSecret(file, () => "").catch(() => "");
  if (existing) {
    const valid = await keys.authenticate(`Bearer ${existing}`).then(
      () => true,
      () => false,
    );
    if (valid) return existing;
  }
  const tenantId = await keys.ensureTenant("dev");
  const { secret } = await keys.createKey(tenantId, "dev");
  await writeSecret(file, secret);
  return secret;
}
