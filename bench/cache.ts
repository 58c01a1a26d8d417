/**
 * How fast do the response caches answer? Exact-cache lookups (bypass, miss, hit; in-process and in
 * Redis) and semantic-cache lookups at a large number of cached entries (in-process HNSW and pgvector
 * in the embedded PGlite), each measured through the cache step the pipeline calls, so canonicalising,
 * hashing and (for the semantic cache) embedding the last user turn are included.
 *
 * All semantic entries share one bucket (same tenant, model, system prompt and parameters): the worst
 * case for the index, where every entry is a candidate.
 */

import { loadavg } from "node:os";
import {
  connectDatabase,
  createMetricsRegistry,
  type Database,
  migrate,
  silentLogger,
  startEmbeddedPostgres,
} from "@strata/kit";
import { findBinary, startRedisServer } from "@strata/kit/testing";
import { cacheConfigSchema } from "../services/gateway/src/cache/cache-config.js";
import { parseCacheDirectives } from "../services/gateway/src/cache/cache-directives.js";
import { semanticQuery } from "../services/gateway/src/cache/cache-keys.js";
import { canonicalRequest } from "../services/gateway/src/cache/canonical-request.js";
import { createResponseCache } from "../services/gateway/src/cache/create-response-cache.js";
import { encodeAnswer, type StoredAnswer } from "../services/gateway/src/cache/stored-answer.js";
import { gatewayMigrations, gatewaySchema } from "../services/gateway/src/db/migrations.js";
import { LocalEmbedder } from "../services/gateway/src/embeddings/local-embedder.js";
import {
  type ChatCompletionRequest,
  validateRequest,
} from "../services/gateway/src/openai/request-schemas.js";
import type { CompletionCall } from "../services/gateway/src/pipeline/completion-call.js";
import type { ResponseCache } from "../services/gateway/src/pipeline/pipeline-steps.js";
import { environment, updateResultsMarkdown, writeJson } from "./lib/report.js";

const entries = Number(process.env.BENCH_CACHE_ENTRIES ?? 100_000);
const pgliteEntries = Number(process.env.BENCH_CACHE_PGLITE_ENTRIES ?? 20_000);
const lookups = Number(process.env.BENCH_CACHE_LOOKUPS ?? 2_000);
const tenantId = "ten_bench";
const embedder = new LocalEmbedder(384);

interface Latency {
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  n: number;
}

export async function main(): Promise<void> {
  const started = Date.now();
  const exactMemory = await exactBench(undefined);
  console.log("exact (in-process):", exactMemory);
  const redisBinary = await findBinary("redis-server", ["/usr/bin", "/usr/local/bin"]);
  let exactRedis: Awaited<ReturnType<typeof exactBench>> | undefined;
  if (redisBinary) {
    const redis = await startRedisServer();
    try {
      exactRedis = await exactBench(redis.url);
      console.log("exact (redis):", exactRedis);
    } finally {
      await redis.stop();
    }
  }
  const questions = distinctQuestions(Math.max(entries, pgliteEntries));
  const memory = await semanticBench("memory", questions.slice(0, entries));
  console.log("semantic (in-process HNSW):", memory);
  const pgvector = await semanticBench("pgvector", questions.slice(0, pgliteEntries));
  console.log("semantic (pgvector in PGlite):", pgvector);
  const results = {
    environment: { ...environment(), loadAverage1m: round(loadavg()[0]!) },
    seconds: (Date.now() - started) / 1000,
    exact: { memory: exactMemory, ...(exactRedis ? { redis: exactRedis } : {}) },
    semantic: { memory, pgvector },
  };
  await writeJson("cache", results);
  await updateResultsMarkdown("cache", markdown(results));
}

/** Bypass, miss and hit lookups through the cache step, exact store in-process or in Redis. */
async function exactBench(redisUrl: string | undefined) {
  const built = await createResponseCache({
    config: cacheConfigSchema.parse({
      exact: { store: redisUrl ? "redis" : "memory" },
      semantic: { enabled: false },
    }),
    redisUrl,
    db: undefined as unknown as Database,
    embedder,
    registry: createMetricsRegistry("gateway"),
    logger: silentLogger(),
  });
  try {
    const cache = built.cache;
    const body = (index: number, temperature = 0) => ({
      model: "strata-sim",
      temperature,
      max_tokens: 64,
      messages: [
        { role: "system", content: "You are a helpful assistant. Answer in one short paragraph." },
        { role: "user", content: `Question number ${index}: what does a response cache save?` },
      ],
    });
    const stored = 5_000;
    for (let index = 0; index < stored; index++) {
      const call = completionCall(body(index));
      await cache.lookup(call, {});
      cache.store(call, { kind: "json", body: answerBody(`Answer ${index}`), usage: tokens });
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // Redis stores complete asynchronously
    const bypass = await measure(lookups, (index) => cache.lookup(completionCall(body(index, 1)), {}));
    const miss = await measure(lookups, (index) => cache.lookup(completionCall(body(stored + index)), {}));
    let hits = 0;
    const hit = await measure(lookups, async (index, measured) => {
      const call = completionCall(body(index % stored));
      if ((await cache.lookup(call, {})) && measured) hits++;
    });
    return { bypass, miss, hit, hit_ratio: hits / lookups };
  } finally {
    await built.close();
  }
}

/** Semantic-cache lookups (embedding included) at `questions.length` entries in one bucket. */
async function semanticBench(index: "memory" | "pgvector", questions: string[]) {
  const database = index === "pgvector" ? await embeddedDatabase() : undefined;
  const built = await createResponseCache({
    config: cacheConfigSchema.parse({
      exact: { store: "memory" },
      semantic: { index, maxEntries: questions.length * 2, maxBytes: 4 * 1024 ** 3 },
    }),
    redisUrl: undefined,
    db: database?.db ?? (undefined as unknown as Database),
    embedder,
    registry: createMetricsRegistry("gateway"),
    logger: silentLogger(),
  });
  try {
    const fillStarted = performance.now();
    const bucket = semanticBucket();
    if (database) await fillPgvector(database.db, bucket, questions);
    else await fillMemory(built.cache, questions);
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    // The first lookup builds pgvector's HNSW index over the rows bulk-inserted above.
    const indexStarted = performance.now();
    await built.cache.lookup(semanticCall(questions[0]!), {});
    const indexSeconds = (performance.now() - indexStarted) / 1000;
    const random = seeded(99);
    let hits = 0;
    const count = index === "pgvector" ? Math.min(lookups, 300) : lookups;
    const hit = await measure(count, async (_, measured) => {
      const question = questions[Math.floor(random() * questions.length)]!;
      if ((await built.cache.lookup(semanticCall(reword(question)), {})) && measured) hits++;
    });
    const fresh = distinctQuestions(count, 7_777);
    let falseHits = 0;
    const miss = await measure(count, async (position, measured) => {
      const question = `${fresh[position]!} Please be specific.`;
      if ((await built.cache.lookup(semanticCall(question), {})) && measured) falseHits++;
    });
    return {
      entries: questions.length,
      fill_seconds: round(fillSeconds),
      first_lookup_seconds: round(indexSeconds),
      hit,
      hit_ratio: hits / count,
      miss,
      false_hit_ratio: falseHits / count,
    };
  } finally {
    await built.close();
    await database?.close();
  }
}

async function fillMemory(cache: ResponseCache, questions: string[]): Promise<void> {
  for (const [position, question] of questions.entries()) {
    const call = semanticCall(question);
    await cache.lookup(call, {});
    cache.store(call, { kind: "json", body: answerBody(`Answer ${position}`), usage: tokens });
    // Stores link the vector after the answer is sent (setImmediate); let them run.
    if (position % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    if (position % 20_000 === 19_999) console.log(`  filled ${position + 1} / ${questions.length}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}

/** Bulk rows, as many gateway stores would have written them; the HNSW index is built afterwards. */
async function fillPgvector(db: Database, bucket: string, questions: string[]): Promise<void> {
  const expiresAt = new Date(Date.now() + 24 * 3_600_000);
  for (let start = 0; start < questions.length; start += 250) {
    const params: unknown[] = [];
    const rows = questions.slice(start, start + 250).map((question, offset) => {
      const vector = embedder.embedOne(question);
      const answer = encodeAnswer(storedAnswer(`Answer ${start + offset}`));
      params.push(tenantId, bucket, vector.length, `[${vector.join(",")}]`, answer, expiresAt);
      const at = params.length - 6;
      return `($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}::vector, $${at + 5}, $${at + 6})`;
    });
    await db.query(
      `INSERT INTO gateway.semantic_cache (tenant_id, bucket, dimensions, embedding, answer, expires_at) VALUES ${rows.join(",")}`,
      params,
    );
    if ((start / 250) % 40 === 39) console.log(`  inserted ${start + 250} / ${questions.length}`);
  }
  // A real Postgres's autovacuum would have analysed the table by now; PGlite has no autovacuum, and
  // without statistics the planner scans the whole bucket by its b-tree instead of using HNSW.
  await db.query("ANALYZE gateway.semantic_cache");
}

async function embeddedDatabase() {
  const server = await startEmbeddedPostgres({ dataDir: "memory" });
  const db = await connectDatabase({ url: server.url, maxConnections: server.recommendedPoolSize });
  await migrate(db, gatewaySchema, gatewayMigrations);
  return {
    db,
    close: async () => {
      await db.close();
      await server.close();
    },
  };
}

const system = "You are the support assistant of Acme. Answer briefly.";
const semanticBody = (question: string) => ({
  model: "strata-sim",
  temperature: 0.7,
  max_tokens: 64,
  messages: [
    { role: "system", content: system },
    { role: "user", content: question },
  ],
});
const semanticCall = (question: string) =>
  completionCall(semanticBody(question), { "x-strata-semantic-cache": "on" });

function semanticBucket(): string {
  const request = validateRequest("chat.completions", semanticBody("x")) as ChatCompletionRequest;
  return semanticQuery(request, canonicalRequest("chat.completions", request), embedder.id)!.bucket;
}

function completionCall(body: unknown, headers: Record<string, string> = {}): CompletionCall {
  return {
    operation: "chat.completions",
    request: validateRequest("chat.completions", body),
    auth: {
      tenantId,
      apiKeyId: "key_bench",
      projectId: undefined,
      allowedModels: undefined,
      metadata: {},
      expiresAt: undefined,
    },
    requestId: "req_bench",
    signal: new AbortController().signal,
    startedAt: performance.now(),
    headers: {},
    cache: parseCacheDirectives((name) => headers[name]),
  };
}

const tokens = { promptTokens: 40, completionTokens: 60, cachedTokens: 0 };

function answerBody(content: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion",
      created: 1,
      model: "strata-sim",
      choices: [{ index: 0, message: { role: "assistant", content }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 40, completion_tokens: 60, total_tokens: 100 },
    }),
  );
}

function storedAnswer(content: string): StoredAnswer {
  return {
    operation: "chat.completions",
    body: answerBody(content),
    servedModel: "strata-sim",
    promptTokens: 40,
    completionTokens: 60,
    storedAt: Date.now(),
  };
}

const verbs =
  "reset change cancel update export delete recover verify transfer upgrade downgrade renew activate disable enable configure connect sync restore share".split(
    " ",
  );
const objects =
  "password account subscription invoice order email address phone number payment method profile photo api key workspace team plan license device backup report calendar contract refund shipment".split(
    " ",
  );
const contexts =
  "on the mobile app|in the web dashboard|from the command line|through the api|on my laptop|for my team|for a client|after a trial|before renewal|while travelling".split(
    "|",
  );
const syllables = "ka lo mi ra te su no vi da pe zo ri ha me tu".split(" ");

/** Distinct support questions: templates with a made-up product name, so none repeats. */
function distinctQuestions(count: number, seed = 1): string[] {
  const random = seeded(seed);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  const seen = new Set<string>();
  while (seen.size < count) {
    const product = `${pick(syllables)}${pick(syllables)}${pick(syllables)}`;
    seen.add(`How do I ${pick(verbs)} my ${pick(objects)} ${pick(contexts)} in ${product}?`);
  }
  return [...seen];
}

/** The same question as another user might type it: other case, no question mark, "can" for "do". */
function reword(question: string): string {
  return question.replace("How do I", "how can i").replace("?", "").toLowerCase();
}

/** Runs `run` count times after a warm-up (whose runs are told `measured: false`), timing each. */
async function measure(
  count: number,
  run: (index: number, measured: boolean) => Promise<unknown>,
): Promise<Latency> {
  for (let index = 0; index < Math.min(200, count); index++) await run(index, false);
  const samples: number[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    await run(index, true);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (quantile: number) =>
    round(samples[Math.min(samples.length - 1, Math.floor(samples.length * quantile))]!);
  return {
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    mean_ms: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    n: count,
  };
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const round = (value: number) => Math.round(value * 1000) / 1000;

function markdown(
  results: Awaited<{ exact: Record<string, any>; semantic: Record<string, any>; environment: any }>,
): string {
  const row = (name: string, latency: Latency, extra = "") =>
    `| ${name} | ${latency.p50_ms} | ${latency.p99_ms} | ${extra} |`;
  const exactRows = Object.entries(results.exact).flatMap(([store, result]) => [
    row(`exact ${store}: bypass`, result.bypass),
    row(`exact ${store}: miss`, result.miss),
    row(`exact ${store}: hit`, result.hit, `hit ratio ${result.hit_ratio}`),
  ]);
  const semanticRows = Object.entries(results.semantic).flatMap(([index, result]) => [
    row(
      `semantic ${index} @ ${result.entries}: hit`,
      result.hit,
      `hit ratio ${result.hit_ratio}; fill ${result.fill_seconds} s, first lookup ${result.first_lookup_seconds} s`,
    ),
    row(`semantic ${index} @ ${result.entries}: miss`, result.miss, `false hits ${result.false_hit_ratio}`),
  ]);
  return `## cache

\`pnpm bench cache\` — lookup latency through the cache step (canonical key, hash, store; for the semantic
cache also embedding the last user turn with the built-in embedder, 384 dimensions). Semantic entries
all share one bucket (worst case). ${results.environment.date}, ${results.environment.cpuCount} × ${results.environment.cpuModel}, commit ${results.environment.commit},
1-minute load average at the end ${results.environment.loadAverage1m} (other work on the machine inflates every number).

| lookup | p50 ms | p99 ms | notes |
| ------ | ------ | ------ | ----- |
${[...exactRows, ...semanticRows].join("\n")}
`;
}
