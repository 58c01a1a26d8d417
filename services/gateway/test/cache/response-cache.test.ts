import type { Database } from "@strata/kit";
import { Registry, silentLogger } from "@strata/kit";
import { eventually, type RedisServerHandle, startRedisServer } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheConfigSchema } from "../../src/cache/cache-config.js";
import { type CacheDirectives, parseCacheDirectives } from "../../src/cache/cache-directives.js";
import { type BuiltResponseCache, createResponseCache } from "../../src/cache/create-response-cache.js";
import { RedisExactStore } from "../../src/cache/redis-exact-store.js";
import { LocalEmbedder } from "../../src/embeddings/local-embedder.js";
import { type ChatCompletionRequest, validateRequest } from "../../src/openai/request-schemas.js";
import type { CompletionCall } from "../../src/pipeline/completion-call.js";
import type { UsageFields } from "../../src/pipeline/pipeline-steps.js";
import { PriceTable } from "../../src/pricing/price-table.js";
import { connectRedis } from "../../src/redis/redis-client.js";

let redis: RedisServerHandle;
let built: BuiltResponseCache;
let registry: Registry;
let sequence = 0;

/** The semantic index here is in-process; the database is only asked whether pgvector exists. */
const noPgvector = {
  query: async () => ({ rows: [{ table: null }] }),
} as unknown as Database;

beforeAll(async () => {
  redis = await startRedisServer();
  registry = new Registry();
  built = await createResponseCache({
    config: cacheConfigSchema.parse({ exact: { redisTimeoutMs: 200 } }),
    redisUrl: redis.url,
    db: noPgvector,
    embedder: new LocalEmbedder(384),
    registry,
    prices: new PriceTable({ "sim-model": { input: 1, output: 2 } }),
    logger: silentLogger(),
  });
});
afterAll(async () => {
  await built?.close();
  await redis?.stop();
});

const tenant = () => `ten_${Date.now().toString(36)}_${++sequence}`;

function call(
  tenantId: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): CompletionCall & { request: ChatCompletionRequest } {
  return {
    operation: "chat.completions",
    request: validateRequest("chat.completions", { model: "sim-model", ...body }) as ChatCompletionRequest,
    auth: {
      tenantId,
      apiKeyId: "key_1",
      projectId: undefined,
      allowedModels: undefined,
      metadata: {},
      expiresAt: undefined,
    },
    requestId: `req_${++sequence}`,
    signal: new AbortController().signal,
    startedAt: performance.now(),
    headers: {},
    cache: parseCacheDirectives((name) => headers[name]) as CacheDirectives | undefined,
  };
}

const answerBody = (content: string) =>
  Buffer.from(
    JSON.stringify({
      id: "chatcmpl-9",
      object: "chat.completion",
      created: 1,
      model: "sim-model",
      choices: [{ index: 0, message: { role: "assistant", content }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
    }),
  );
const usage = { promptTokens: 10, completionTokens: 20, cachedTokens: 0 };
const greedy = (content: string) => ({ temperature: 0, messages: [{ role: "user", content }] });

async function lookup(request: CompletionCall) {
  const fields: UsageFields = {};
  const hit = await built.cache.lookup(request, fields);
  return { hit, fields, status: request.headers["x-strata-cache"] };
}

/** Polls until a lookup hits: stores complete asynchronously. */
const hitEventually = (make: () => CompletionCall) =>
  eventually(async () => {
    expect((await lookup(make())).hit).toBeDefined();
  }).then(() => lookup(make()));

async function counter(cache: string, result: string): Promise<number> {
  const metric = await registry.getSingleMetric("strata_gateway_cache_requests_total")!.get();
  return (
    metric.values.find((value) => value.labels.cache === cache && value.labels.result === result)?.value ?? 0
  );
}

describe("the cache step with Redis and the in-process semantic index", () => {
  it("misses, stores, then serves a deterministic request from Redis, counting what it saved", async () => {
    const id = tenant();
    const first = call(id, greedy("What is a B-tree?"));
    const miss = await lookup(first);
    expect(miss).toMatchObject({ hit: undefined, status: "miss", fields: { cacheStatus: "miss" } });
    expect(built.cache.wantsStore(first)).toBe(true);
    built.cache.store(first, { kind: "json", body: answerBody("A balanced tree."), usage });
    const { hit, fields, status } = await hitEventually(() => call(id, greedy("What is a B-tree?")));
    expect(status).toBe("hit");
    expect(hit!.answer).toEqual({
      kind: "json",
      body: answerBody("A balanced tree."),
      usage: { promptTokens: 0, completionTokens: 0, cachedTokens: 0 },
    });
    expect(fields).toMatchObject({
      cacheStatus: "hit",
      cacheSavedPromptTokens: 10,
      cacheSavedCompletionTokens: 20,
      cacheSavedCostUsd: (10 * 1 + 20 * 2) / 1_000_000,
    });
    expect(hit!.servedModel).toBe("sim-model");
  });

  it("replays a hit as SSE for a streaming request, and stores a streamed answer for plain ones", async () => {
    const id = tenant();
    const streamed = call(id, { ...greedy("Name a prime"), stream: true });
    await lookup(streamed);
    const chunk = (fields: object) =>
      JSON.stringify({
        id: "c1",
        object: "chat.completion.chunk",
        created: 2,
        model: "sim-model",
        ...fields,
      });
    built.cache.store(streamed, {
      kind: "stream",
      events: [
        chunk({ choices: [{ index: 0, delta: { role: "assistant", content: "" } }] }),
        chunk({ choices: [{ index: 0, delta: { content: "Seven" }, finish_reason: "stop" }] }),
        chunk({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }),
        "[DONE]",
      ],
      usage: { promptTokens: 3, completionTokens: 1, cachedTokens: 0 },
    });
    const plain = await hitEventually(() => call(id, greedy("Name a prime")));
    const body = JSON.parse((plain.hit!.answer as { body: Buffer }).body.toString());
    expect(body.choices[0].message.content).toBe("Seven");
    expect(body.object).toBe("chat.completion");
    const replay = await lookup(
      call(id, { ...greedy("Name a prime"), stream: true, stream_options: { include_usage: true } }),
    );
    const events = (replay.hit!.answer as { events: readonly string[] }).events;
    expect(events.at(-1)).toBe("[DONE]");
    expect(JSON.parse(events.at(-2)!).usage).toEqual({
      prompt_tokens: 3,
      completion_tokens: 1,
      total_tokens: 4,
    });
  });

  it("keeps tenants apart", async () => {
    const [a, b] = [tenant(), tenant()];
    const first = call(a, greedy("Tenant secret?"));
    await lookup(first);
    built.cache.store(first, { kind: "json", body: answerBody("A's answer"), usage });
    await hitEventually(() => call(a, greedy("Tenant secret?")));
    expect((await lookup(call(b, greedy("Tenant secret?")))).status).toBe("miss");
  });

  it("bypasses sampled requests unless asked, and refreshes on request", async () => {
    const id = tenant();
    const sampled = call(id, { temperature: 0.9, messages: [{ role: "user", content: "Tell a joke" }] });
    expect((await lookup(sampled)).status).toBe("bypass");
    expect(built.cache.wantsStore(sampled)).toBe(false);
    const optedIn = call(
      id,
      { temperature: 0.9, messages: [{ role: "user", content: "Tell a joke" }] },
      { "x-strata-cache": "on" },
    );
    expect((await lookup(optedIn)).status).toBe("miss");
    built.cache.store(optedIn, { kind: "json", body: answerBody("joke 1"), usage });
    const again = () =>
      call(
        id,
        { temperature: 0.9, messages: [{ role: "user", content: "Tell a joke" }] },
        { "x-strata-cache": "on" },
      );
    await hitEventually(again);
    const refresh = call(
      id,
      { temperature: 0.9, messages: [{ role: "user", content: "Tell a joke" }] },
      { "x-strata-cache": "refresh" },
    );
    expect((await lookup(refresh)).status).toBe("miss");
    built.cache.store(refresh, { kind: "json", body: answerBody("joke 2"), usage });
    await eventually(async () => {
      const { hit } = await lookup(again());
      expect((hit!.answer as { body: Buffer }).body.toString()).toContain("joke 2");
    });
    const off = call(id, greedy("x"), { "x-strata-cache": "off" });
    expect((await lookup(off)).status).toBe("bypass");
  });

  it("does not store incomplete or error answers", async () => {
    const id = tenant();
    const first = call(id, greedy("cut off"));
    await lookup(first);
    built.cache.store(first, {
      kind: "stream",
      events: ['{"id":"x","choices":[{"index":0,"delta":{"content":"par"}}]}'],
      usage,
    });
    const error = call(id, greedy("cut off"));
    await lookup(error);
    built.cache.store(error, { kind: "json", body: Buffer.from('{"error":{"message":"no"}}'), usage });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await lookup(call(id, greedy("cut off")))).status).toBe("miss");
  });

  it("serves a paraphrase from the semantic cache only within the same context", async () => {
    const id = tenant();
    const ask = (content: string, system = "You are a support bot.") =>
      call(
        id,
        {
          temperature: 0.7,
          messages: [
            { role: "system", content: system },
            { role: "user", content },
          ],
        },
        { "x-strata-semantic-cache": "on" },
      );
    const first = ask("How do I reset my password?");
    expect((await lookup(first)).status).toBe("miss");
    built.cache.store(first, { kind: "json", body: answerBody("Use the reset link."), usage });
    const paraphrase = await hitEventually(() => ask("how can I reset my password"));
    expect(paraphrase.status).toBe("semantic-hit");
    expect(paraphrase.fields.cacheSimilarity).toBeGreaterThan(0.95);
    expect((paraphrase.hit!.answer as { body: Buffer }).body.toString()).toContain("Use the reset link.");
    expect((await lookup(ask("how can I reset my password", "You are a pirate."))).status).toBe("miss");
    expect((await lookup(ask("What are your opening hours?"))).status).toBe("miss");
  });

  it("counts Redis trouble as an error and goes on without it", async () => {
    const id = tenant();
    const errorsBefore = await counter("exact", "error");
    await redis.kill();
    try {
      const request = call(id, greedy("while redis is down"));
      expect((await lookup(request)).status).toBe("miss");
      expect(await counter("exact", "error")).toBe(errorsBefore + 1);
      built.cache.store(request, { kind: "json", body: answerBody("x"), usage }); // must not throw
    } finally {
      await redis.start();
    }
    // Once the client has reconnected, a miss is stored again and the next lookup hits.
    await eventually(
      async () => {
        const request = call(id, greedy("after redis is back"));
        if ((await lookup(request)).status === "hit") return;
        built.cache.store(request, { kind: "json", body: answerBody("back"), usage });
        throw new Error("not served from Redis yet");
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
  });
});

describe("the Redis exact store", () => {
  it("lets Redis expire answers after their TTL, under its key prefix", async () => {
    const client = await connectRedis({ url: redis.url, commandTimeoutMs: 1_000, logger: silentLogger() });
    try {
      const store = new RedisExactStore({ redis: client, keyPrefix: "test:cache:" });
      const answer = {
        operation: "chat.completions" as const,
        body: answerBody("short-lived"),
        servedModel: "sim-model",
        promptTokens: 1,
        completionTokens: 2,
        storedAt: 3,
      };
      await store.set("ten_x:key", answer, 300);
      expect(await store.get("ten_x:key")).toEqual(answer);
      const ttl = await client.pttl("test:cache:ten_x:key");
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300);
      await eventually(async () => expect(await store.get("ten_x:key")).toBeUndefined(), {
        timeoutMs: 5_000,
      });
    } finally {
      client.disconnect();
    }
  });
});
