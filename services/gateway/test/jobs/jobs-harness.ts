import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  connectDatabase,
  createMemoryBus,
  type Database,
  type EmbeddedPostgres,
  type MemoryBus,
  migrate,
  Registry,
  StrataError,
  silentLogger,
  startEmbeddedPostgres,
  toStrataError,
} from "@strata/kit";
import { afterAll, afterEach, beforeAll } from "vitest";
import { ApiKeyStore } from "../../src/auth/api-key-store.js";
import type { AuthContext } from "../../src/auth/auth-context.js";
import { gatewayMigrations, gatewaySchema } from "../../src/db/migrations.js";
import { sendError } from "../../src/http/send.js";
import { createJobs, type Jobs } from "../../src/jobs/create-jobs.js";
import { jobsConfigSchema } from "../../src/jobs/jobs-config.js";
import type { CompletionCall, CompletionResult } from "../../src/pipeline/completion-call.js";

export const keyHashSecret = "test-key-hash-secret-0123456789";

/**
 * The workers' contract with the completion pipeline: a typed fake whose behaviour each test picks by
 * the prompt's text.
 */
export class FakePipeline {
  readonly calls: { content: string; at: number; auth: AuthContext }[] = [];
  private readonly failures = new Map<string, number>();

  /** The next `times` calls for `content` fail with this error. */
  failNext(content: string, times: number): void {
    this.failures.set(content, times);
  }

  async execute(call: CompletionCall): Promise<CompletionResult> {
    const content = String((call.request as { messages: { content: string }[] }).messages[0]!.content);
    this.calls.push({ content, at: performance.now(), auth: call.auth });
    if (content.startsWith("slow")) await new Promise((resolve) => setTimeout(resolve, 1_500));
    if (content.startsWith("hang")) {
      await new Promise((_, reject) =>
        call.signal.addEventListener("abort", () => reject(call.signal.reason)),
      );
    }
    if (content === "bad request") throw new StrataError("invalid_request", "The prompt is not acceptable.");
    const left = this.failures.get(content) ?? 0;
    if (left > 0) {
      this.failures.set(content, left - 1);
      throw new StrataError("upstream_error", "The upstream failed.");
    }
    const body = {
      object: "chat.completion",
      choices: [{ message: { content: `echo ${content}` } }],
      usage: {},
    };
    return { kind: "json", status: 200, body: Buffer.from(JSON.stringify(body)), headers: {} };
  }

  callsFor(content: string): number {
    return this.calls.filter((call) => call.content === content).length;
  }
}

/** A PGlite Postgres with the gateway's schema and one tenant with one key. */
export interface JobsDatabase {
  postgres: EmbeddedPostgres;
  db: Database;
  auth: AuthContext;
  close(): Promise<void>;
}

export async function startJobsDatabase(tenantName: string): Promise<JobsDatabase> {
  const postgres = await startEmbeddedPostgres({ dataDir: "memory" });
  const db = await connectDatabase({ url: postgres.url, maxConnections: postgres.recommendedPoolSize });
  await migrate(db, gatewaySchema, gatewayMigrations);
  const keys = new ApiKeyStore({ db, hashKey: keyHashSecret, cacheTtlMs: 1_000 });
  const tenantId = await keys.ensureTenant(tenantName);
  const key = await keys.createKey(tenantId, tenantName);
  const auth: AuthContext = {
    tenantId,
    apiKeyId: key.id,
    projectId: undefined,
    allowedModels: undefined,
    metadata: {},
    expiresAt: undefined,
  };
  return {
    postgres,
    db,
    auth,
    close: async () => {
      await db.close();
      await postgres.close();
    },
  };
}

/** The jobs module behind a real HTTP server, on the in-process bus, every request as `auth`. */
export interface JobsUnderTest {
  jobs: Jobs;
  url: string;
  registry: Registry;
  stop(): Promise<void>;
}

export async function startJobs(options: {
  database: JobsDatabase;
  bus: MemoryBus;
  pipeline: FakePipeline;
  config: Record<string, unknown>;
  now?: () => number;
}): Promise<JobsUnderTest> {
  const registry = new Registry();
  const jobs = await createJobs({
    config: jobsConfigSchema.parse(options.config),
    keyHashSecret,
    db: options.database.db,
    bus: options.bus,
    pipeline: options.pipeline,
    keys: { authenticate: async () => options.database.auth },
    maxBodyBytes: 64 * 1024,
    registry,
    logger: silentLogger(),
    now: options.now,
  });
  const server: Server = createServer((request, response) => {
    jobs.http
      .handle(request, response, "req_test")
      .catch((error: unknown) => sendError(response, toStrataError(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    jobs,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    registry,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await jobs.close();
    },
  };
}

export interface JobsSuite {
  readonly database: JobsDatabase;
  readonly bus: MemoryBus;
  readonly pipeline: FakePipeline;
  /** Starts the jobs module with the suite's settings under `config`, judging time by `now`. */
  start(config?: Record<string, unknown>, now?: () => number): Promise<JobsUnderTest>;
  stop(): Promise<void>;
}

/**
 * Registers the hooks of a suite that runs the jobs module on one database, bus and pipeline: the
 * database comes up before the first test, the module is stopped after each test.
 */
export function jobsSuite(tenantName: string, defaults: Record<string, unknown> = {}): JobsSuite {
  let database: JobsDatabase | undefined;
  let running: JobsUnderTest | undefined;
  const bus = createMemoryBus();
  const pipeline = new FakePipeline();
  const suite: JobsSuite = {
    get database() {
      if (!database) throw new Error("the suite's database is not up yet");
      return database;
    },
    bus,
    pipeline,
    async start(config = {}, now) {
      await suite.stop();
      running = await startJobs({
        database: suite.database,
        bus,
        pipeline,
        config: { ...defaults, ...config },
        now,
      });
      return running;
    },
    async stop() {
      await running?.stop();
      running = undefined;
    },
  };
  beforeAll(async () => {
    database = await startJobsDatabase(tenantName);
  }, 60_000);
  afterEach(() => suite.stop());
  afterAll(async () => {
    await bus.close();
    await database?.close();
  });
  return suite;
}

/** POST /v1/batches for an input file on the chat completions endpoint, with any other fields given. */
export function createBatch(
  url: string,
  inputFileId: string,
  extra: Record<string, unknown> = {},
): Promise<Response> {
  return fetch(`${url}/v1/batches`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      input_file_id: inputFileId,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
      ...extra,
    }),
  });
}
