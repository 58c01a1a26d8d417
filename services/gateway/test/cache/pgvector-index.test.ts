import {
  connectDatabase,
  createMetricsRegistry,
  type Database,
  type EmbeddedPostgres,
  migrate,
  silentLogger,
  startEmbeddedPostgres,
} from "@strata/kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheConfigSchema } from "../../src/cache/cache-config.js";
import { createResponseCache } from "../../src/cache/create-response-cache.js";
import { PgvectorIndex } from "../../src/cache/pgvector-index.js";
import type { StoredAnswer } from "../../src/cache/stored-answer.js";
import { gatewayMigrations, gatewaySchema } from "../../src/db/migrations.js";
import { LocalEmbedder } from "../../src/embeddings/local-embedder.js";

let server: EmbeddedPostgres;
let db: Database;
let sequence = 0;
const unique = (name: string) => `${name}-${Date.now().toString(36)}-${++sequence}`;

beforeAll(async () => {
  server = await startEmbeddedPostgres({ dataDir: "memory" });
  db = await connectDatabase({ url: server.url, maxConnections: server.recommendedPoolSize });
  await migrate(db, gatewaySchema, gatewayMigrations);
});
afterAll(async () => {
  await db?.close();
  await server?.close();
});

const embedder = new LocalEmbedder(64);
const vector = (text: string) => embedder.embedOne(text);
const answer = (text: string): StoredAnswer => ({
  operation: "chat.completions",
  body: Buffer.from(JSON.stringify({ text })),
  servedModel: "sim",
  promptTokens: 4,
  completionTokens: 5,
  storedAt: 1,
});
const later = () => Date.now() + 3_600_000;

describe("the pgvector semantic index (PGlite)", () => {
  it("serves the nearest entry of the same tenant and bucket above the threshold", async () => {
    const index = new PgvectorIndex({ db, maxEntries: 10_000, logger: silentLogger() });
    const [tenant, bucket] = [unique("ten"), unique("bucket")];
    await index.insert({
      tenantId: tenant,
      bucket,
      vector: vector("How do I reset my password?"),
      answer: answer("reset"),
      expiresAt: later(),
    });
    await index.insert({
      tenantId: tenant,
      bucket,
      vector: vector("Where is my order?"),
      answer: answer("order"),
      expiresAt: later(),
    });
    const query = vector("how can I reset my password");
    const match = await index.search(tenant, bucket, query, 0.9);
    expect(match?.answer).toEqual(answer("reset"));
    expect(match!.similarity).toBeGreaterThan(0.95);
    expect(await index.search(unique("other-tenant"), bucket, query, 0.9)).toBeUndefined();
    expect(await index.search(tenant, unique("other-bucket"), query, 0.9)).toBeUndefined();
    expect(
      await index.search(tenant, bucket, vector("Explain the theory of relativity"), 0.9),
    ).toBeUndefined();
  });

  it("finds its bucket's entry when many nearer vectors sit in other buckets", async () => {
    const index = new PgvectorIndex({ db, maxEntries: 10_000, logger: silentLogger() });
    const tenant = unique("ten");
    const question = "What is the refund policy for damaged items?";
    for (let copy = 0; copy < 150; copy++)
      await index.insert({
        tenantId: tenant,
        bucket: `crowd-${copy}`,
        vector: vector(question),
        answer: answer("crowd"),
        expiresAt: later(),
      });
    await index.insert({
      tenantId: tenant,
      bucket: "mine",
      vector: vector("what is the refund policy for damaged items"),
      answer: answer("mine"),
      expiresAt: later(),
    });
    expect((await index.search(tenant, "mine", vector(question), 0.9))?.answer).toEqual(answer("mine"));
  });

  it("keeps one HNSW index per vector length", async () => {
    const index = new PgvectorIndex({ db, maxEntries: 10_000, logger: silentLogger() });
    const wide = new LocalEmbedder(96).embedOne("hello there");
    const tenant = unique("ten");
    await index.insert({
      tenantId: tenant,
      bucket: "b",
      vector: wide,
      answer: answer("96"),
      expiresAt: later(),
    });
    await index.insert({
      tenantId: tenant,
      bucket: "b",
      vector: vector("hello there"),
      answer: answer("64"),
      expiresAt: later(),
    });
    expect((await index.search(tenant, "b", wide, 0.99))?.answer).toEqual(answer("96"));
    expect((await index.search(tenant, "b", vector("hello there"), 0.99))?.answer).toEqual(answer("64"));
    const indexes = await db.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE schemaname = 'gateway' AND indexname LIKE 'semantic_cache_hnsw_%' ORDER BY indexname",
    );
    expect(indexes.rows.map((row) => row.indexname)).toEqual([
      "semantic_cache_hnsw_64",
      "semantic_cache_hnsw_96",
    ]);
  });

  it("skips expired entries and sweeps them and those beyond its size bound away", async () => {
    const tenant = unique("ten");
    const index = new PgvectorIndex({ db, maxEntries: 1_000_000, logger: silentLogger() });
    await index.insert({
      tenantId: tenant,
      bucket: "b",
      vector: vector("stale question"),
      answer: answer("stale"),
      expiresAt: Date.now() - 1,
    });
    expect(await index.search(tenant, "b", vector("stale question"), 0.9)).toBeUndefined();
    await index.sweep();
    const left = await db.query(
      "SELECT count(*)::int AS n FROM gateway.semantic_cache WHERE tenant_id = $1",
      [tenant],
    );
    expect(left.rows[0].n).toBe(0);

    const bounded = new PgvectorIndex({ db, maxEntries: 3, logger: silentLogger() });
    for (const text of ["one", "two", "three", "four", "five"])
      await bounded.insert({
        tenantId: tenant,
        bucket: "b",
        vector: vector(`question ${text}`),
        answer: answer(text),
        expiresAt: later(),
      });
    await bounded.sweep();
    const total = await db.query("SELECT count(*)::int AS n FROM gateway.semantic_cache");
    expect(total.rows[0].n).toBe(3);
    expect((await bounded.search(tenant, "b", vector("question five"), 0.99))?.answer).toEqual(
      answer("five"),
    );
    expect(await bounded.search(tenant, "b", vector("question one"), 0.99)).toBeUndefined();
  });

  it("is what `index: pgvector` chooses, while `auto` keeps PGlite's cache in process", async () => {
    const build = (index: "auto" | "pgvector") =>
      createResponseCache({
        config: cacheConfigSchema.parse({ semantic: { index } }),
        redisUrl: undefined,
        db,
        embedder,
        registry: createMetricsRegistry("gateway"),
        logger: silentLogger(),
      });
    const automatic = await build("auto");
    const explicit = await build("pgvector");
    expect(automatic.description).toEqual({ exact: "memory", semantic: "memory" });
    expect(explicit.description).toEqual({ exact: "memory", semantic: "pgvector" });
    await automatic.close();
    await explicit.close();
  });
});
