import {
  type Bus,
  connectDatabase,
  createMemoryBus,
  type Database,
  type EmbeddedPostgres,
  silentLogger,
  startEmbeddedPostgres,
} from "@strata/kit";
import { freePort } from "@strata/kit/testing";
import { gatewayConfigSchema, type RunningGateway, run } from "../src/index.js";
import type { UsageLedgerConfig } from "../src/usage/usage-config.js";

export const adminToken = "test-admin-token-0123456789";

export interface TestDatabase {
  db: Database;
  /** A second pool on the same server, as another gateway replica would open. */
  connect(): Promise<Database>;
  close(): Promise<void>;
}

/** An in-memory PGlite (Postgres with pgvector) for one test file. */
export async function startTestDatabase(): Promise<TestDatabase> {
  const server: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir: "memory" });
  const pools: Database[] = [];
  const connect = async () => {
    const pool = await connectDatabase({ url: server.url, maxConnections: server.recommendedPoolSize });
    pools.push(pool);
    return pool;
  };
  const db = await connect();
  return {
    db,
    connect,
    close: async () => {
      await Promise.all(pools.map((pool) => pool.close()));
      await server.close();
    },
  };
}

export interface TestGateway {
  gateway: RunningGateway;
  url: string;
  grpcAddress: string;
  /** A JSON request to the admin API with the admin token (or the given authorization). */
  admin(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The test gateway's key-hash secret. With no dedicated webhook secret configured, tenants' first job
 * webhook secrets are derived from it, so webhook tests check against it.
 */
export const testKeyHashSecret = "test-key-hash-secret-0123456789";

/**
 * A real gateway on free ports, with no router behind it: enough for everything that happens before a
 * completion is routed (admin API, authentication, authorization, validation).
 */
export async function startTestGateway(options: {
  db: Database;
  bus?: Bus;
  adminToken?: string | undefined;
  keyCacheTtlMs?: number;
  usageLedger?: Partial<UsageLedgerConfig>;
}): Promise<TestGateway> {
  const bus = options.bus ?? createMemoryBus();
  const config = gatewayConfigSchema.parse({
    http: { host: "127.0.0.1", port: 0 },
    grpc: { host: "127.0.0.1", port: 0 },
    opsPort: 0,
    // Nothing listens there: admin tests never reach the router.
    routerAddress: `127.0.0.1:${await freePort()}`,
    keyHashSecret: testKeyHashSecret,
    keyCacheTtlMs: options.keyCacheTtlMs ?? 30_000,
    logLevel: "silent",
    usageLedger: options.usageLedger,
    admin:
      "adminToken" in options
        ? options.adminToken
          ? { token: options.adminToken }
          : {}
        : { token: adminToken },
  });
  const gateway = await run(config, { db: options.db, bus, logger: silentLogger() });
  const url = `http://127.0.0.1:${gateway.httpPort}`;
  return {
    gateway,
    url,
    grpcAddress: `127.0.0.1:${gateway.grpcPort}`,
    admin: (method, path, body, headers = {}) =>
      fetch(`${url}/admin/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      }),
    close: async () => {
      await gateway.close();
      if (!options.bus) await bus.close();
    },
  };
}

/** Probes a key over HTTP without a router: the body is invalid, so a good key gets 400 and a bad one 401. */
export async function probeKey(url: string, secret: string): Promise<{ status: number; message: string }> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: "{}",
  });
  const body = (await response.json()) as { error: { message: string } };
  return { status: response.status, message: body.error.message };
}

export const unixNow = () => Math.floor(Date.now() / 1000);
