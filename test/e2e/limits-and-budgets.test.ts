import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { gatewayConfigSchema, type RunningGateway, run as runGateway } from "@strata/gateway";
import { createGrpcClient, type ServiceClient, StrataError, silentLogger } from "@strata/kit";
import { type RedisServerHandle, startRedisServer } from "@strata/kit/testing";
import { budgetLimitSubject, budgetStream, gatewayEventsV1, gatewayV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminJson, eventually, startTestStack, type TestStack } from "../support/local-stack.js";

const model = "strata-sim";
// Dear on purpose: every request costs well over a cent, so small budgets run out in a few requests.
const pricing = { [model]: { input: 1_000, output: 2_000, cachedInput: 500 } };
const chat = (content: string) => ({ model, messages: [{ role: "user", content }], max_tokens: 4 });
let sequence = 0;
const unique = (name: string) => `${name}-${Date.now().toString(36)}-${++sequence}`;

/** JSON bodies, asserted field by field. */
type Json = any;

function helpers(stack: () => TestStack) {
  const admin = (method: string, path: string, body?: unknown) => adminJson(stack(), method, path, body);
  /** A fresh tenant with one key (and its limits, if given). */
  const tenantWithKey = async (keyLimits?: Record<string, number>, tenantLimits?: Record<string, number>) => {
    const tenant = await admin("POST", "/tenants", { name: unique("tenant") });
    const key = await admin("POST", "/keys", { tenant_id: tenant.body.id, name: "e2e" });
    if (keyLimits) expect((await admin("PUT", `/keys/${key.body.id}/limits`, keyLimits)).status).toBe(200);
    if (tenantLimits)
      expect((await admin("PUT", `/tenants/${tenant.body.id}/limits`, tenantLimits)).status).toBe(200);
    return {
      tenantId: tenant.body.id as string,
      keyId: key.body.id as string,
      secret: key.body.secret as string,
    };
  };
  const complete = (secret: string, content = "hello", gatewayUrl = stack().gatewayUrl) =>
    fetch(`${gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify(chat(content)),
    });
  return { admin, tenantWithKey, complete };
}

describe("rate limits and budgets, in-process", () => {
  let stack: TestStack;
  let grpc: ServiceClient<typeof gatewayV1.GatewayService>;
  const { admin, tenantWithKey, complete } = helpers(() => stack);

  beforeAll(async () => {
    stack = await startTestStack(
      { engine: { decodeMsPerToken: 1 }, gateway: { pricing } },
      { engineReplicas: 1 },
    );
    grpc = createGrpcClient(gatewayV1.GatewayService, stack.gatewayGrpcAddress);
  });
  afterAll(async () => {
    grpc?.close();
    await stack?.close();
  });

  it("answers OpenAI's rate-limit headers, then 429 with Retry-After naming the key's limit", async () => {
    const { keyId, secret } = await tenantWithKey({ requests_per_minute: 2, tokens_per_minute: 100_000 });
    const first = await complete(secret);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    expect(first.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+(\.\d+)?s$/);
    expect(first.headers.get("x-ratelimit-limit-tokens")).toBe("100000");
    expect(Number(first.headers.get("x-ratelimit-remaining-tokens"))).toBeLessThan(100_000);
    expect((await complete(secret)).headers.get("x-ratelimit-remaining-requests")).toBe("0");

    const refused = await complete(secret);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const body = (await refused.json()) as Json;
    expect(body.error).toMatchObject({ code: "rate_limit_exceeded", type: "rate_limit_error" });
    expect(body.error.message).toContain(`requests per minute (RPM) on API key ${keyId}`);
  });

  it("refuses over gRPC with RESOURCE_EXHAUSTED, naming the tenant's limit", async () => {
    const { tenantId, secret } = await tenantWithKey(undefined, { requests_per_minute: 1 });
    const call = () =>
      grpc.createChatCompletion(
        { model, messages: [{ role: "user", content: "hi over gRPC" }], params: { maxTokens: 3 } },
        { metadata: { authorization: `Bearer ${secret}` } },
      );
    await call();
    const error = await call().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(StrataError);
    expect(error).toMatchObject({ code: "rate_limit_exceeded" });
    expect(((error as StrataError).cause as { code: number }).code).toBe(8); // RESOURCE_EXHAUSTED
    expect((error as StrataError).message).toContain(`on tenant ${tenantId}`);
  });

  it("refuses a key whose daily budget is spent with insufficient_quota, before any work", async () => {
    const { keyId, secret } = await tenantWithKey({ daily_budget_usd: 0.01 });
    expect((await complete(secret)).status).toBe(200); // spends more than $0.01
    const refused = await eventually(async () => {
      const response = await complete(secret);
      return response.status === 429 ? response : undefined;
    });
    expect(refused.headers.get("x-should-retry")).toBe("false");
    const body = (await refused.json()) as Json;
    expect(body.error).toMatchObject({ code: "insufficient_quota", type: "insufficient_quota" });
    expect(body.error.message).toContain(`daily budget of API key ${keyId}`);
    // Refused before any work: the ledger shows the refusal with no tokens and no cost.
    const rows = await eventually(async () => {
      const result = await stack.database.query(
        "SELECT status, prompt_tokens, cost_usd FROM gateway.usage_ledger WHERE api_key_id = $1 AND status = 429",
        [keyId],
      );
      return result.rows.length > 0 ? result.rows : undefined;
    });
    expect(rows[0]).toMatchObject({ prompt_tokens: 0, cost_usd: 0 });
  });

  it("publishes one soft-limit notice however many requests pass the soft budget", async () => {
    const { tenantId, secret } = await tenantWithKey(undefined, { daily_soft_budget_usd: 0.01 });
    const notices: gatewayEventsV1.BudgetLimitReached[] = [];
    const subscription = await stack.bus.consume(
      {
        stream: budgetStream.name,
        durable: unique("soft"),
        filterSubject: budgetLimitSubject("soft", tenantId),
      },
      async (message) => {
        notices.push(fromBinary(gatewayEventsV1.BudgetLimitReachedSchema, message.data));
      },
    );
    for (let index = 0; index < 4; index++) expect((await complete(secret)).status).toBe(200);
    await eventually(async () => (notices.length > 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await subscription.stop();
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      tenantId,
      scope: "tenant",
      scopeId: tenantId,
      limitKind: "soft",
      limitUsd: 0.01,
    });
    expect(notices[0]!.spentUsd).toBeGreaterThanOrEqual(0.01);
  });

  it("reads and writes limits through the admin API, with clear errors", async () => {
    const { tenantId, keyId } = await tenantWithKey();
    const set = await admin("PUT", `/tenants/${tenantId}/limits`, {
      requests_per_minute: 100,
      monthly_budget_usd: 50,
    });
    expect(set.body).toMatchObject({
      object: "limits",
      scope: "tenant",
      id: tenantId,
      overrides: { requests_per_minute: 100, monthly_budget_usd: 50 },
      effective: { requests_per_minute: 100, tokens_per_minute: 0, monthly_budget_usd: 50 },
    });
    expect((await admin("GET", `/tenants/${tenantId}/limits`)).body.overrides).toEqual({
      requests_per_minute: 100,
      monthly_budget_usd: 50,
    });
    expect((await admin("GET", `/keys/${keyId}/limits`)).body.overrides).toEqual({});
    const bad = await admin("PUT", `/keys/${keyId}/limits`, { requests_per_minute: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe("requests_per_minute");
    const unknownField = await admin("PUT", `/keys/${keyId}/limits`, { rpm: 1 });
    expect(unknownField.status).toBe(400);
    const missing = await admin("GET", "/tenants/ten_missing/limits");
    expect(missing.status).toBe(404);
    // An empty document removes the overrides: back to the defaults.
    expect((await admin("PUT", `/tenants/${tenantId}/limits`, {})).body.overrides).toEqual({});
  });

  it("answers usage grouped by tenant, key, model and day, as the ledger has it", async () => {
    const { tenantId, keyId, secret } = await tenantWithKey({ requests_per_minute: 3 });
    const key2 = await admin("POST", "/keys", { tenant_id: tenantId, name: "second" });
    const statuses = [];
    for (let index = 0; index < 4; index++) statuses.push((await complete(secret, `usage ${index}`)).status);
    statuses.push((await complete(key2.body.secret, "the other key")).status);
    expect(statuses).toEqual([200, 200, 200, 429, 200]);
    const ledger = await eventually(async () => {
      const result = await stack.database.query(
        `SELECT api_key_id, status, prompt_tokens, completion_tokens, cached_tokens, cost_usd, started_at
           FROM gateway.usage_ledger WHERE tenant_id = $1`,
        [tenantId],
      );
      return result.rows.length === 5 ? result.rows : undefined;
    });
    const day = new Date(ledger[0].started_at).toISOString().slice(0, 10);
    const sum = (rows: Json[], field: string) => rows.reduce((total, row) => total + Number(row[field]), 0);
    const expected = (rows: Json[]) => ({
      requests: rows.length,
      errors: rows.filter((row) => row.status >= 400).length,
      prompt_tokens: sum(rows, "prompt_tokens"),
      completion_tokens: sum(rows, "completion_tokens"),
      cached_tokens: sum(rows, "cached_tokens"),
    });

    const byKey = await admin("GET", `/usage?group_by=tenant,key,model,day&tenant_id=${tenantId}`);
    expect(byKey.status).toBe(200);
    expect(byKey.body.group_by).toEqual(["tenant", "key", "model", "day"]);
    for (const id of [keyId, key2.body.id]) {
      const rows = ledger.filter((row) => row.api_key_id === id);
      const reported = byKey.body.data.find((row: Json) => row.api_key_id === id);
      expect(reported).toMatchObject({ tenant_id: tenantId, model, day, ...expected(rows) });
      expect(reported.cost_usd).toBeCloseTo(sum(rows, "cost_usd"), 9);
      expect(reported.cost_usd).toBeGreaterThan(0);
    }
    expect(byKey.body.data).toHaveLength(2);
    expect(byKey.body.data.find((row: Json) => row.api_key_id === keyId).errors).toBe(1);

    const byTenant = await admin("GET", `/usage?group_by=tenant&tenant_id=${tenantId}&from=${day}&to=${day}`);
    expect(byTenant.body.data).toEqual([
      expect.objectContaining({ tenant_id: tenantId, ...expected(ledger) }),
    ]);
    expect(byTenant.body.totals).toMatchObject(expected(ledger));

    const before = await admin(
      "GET",
      `/usage?group_by=tenant&tenant_id=${tenantId}&to=2000-01-02&from=2000-01-01`,
    );
    expect(before.body.data).toEqual([]);
  });

  it("refuses bad usage queries with a 400 naming the parameter", async () => {
    const cases: [string, string][] = [
      ["group_by=tenant,colour", "group_by"],
      ["group_by=day,day", "group_by"],
      ["from=yesterday", "from"],
      ["from=2025-05-02&to=2025-05-01T00:00:00Z", "to"],
      ["limit=0", "limit"],
      ["tenant=abc", "tenant"],
    ];
    for (const [query, param] of cases) {
      const response = await admin("GET", `/usage?${query}`);
      expect({ query, status: response.status }).toEqual({ query, status: 400 });
      expect({ query, param: response.body.error.param }).toEqual({ query, param });
    }
  });
});

describe("rate limits shared through Redis", () => {
  let redis: RedisServerHandle;
  let stack: TestStack;
  const { tenantWithKey, complete } = helpers(() => stack);

  beforeAll(async () => {
    redis = await startRedisServer();
    stack = await startTestStack(
      {
        engine: { decodeMsPerToken: 1 },
        gateway: { pricing, redisUrl: redis.url },
      },
      { engineReplicas: 1 },
    );
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  it("shares one limit between two gateways using the same Redis", async () => {
    // Set before the second gateway starts, so both hold the same limits from their first request.
    const { secret } = await tenantWithKey({ requests_per_minute: 3 });
    const second: RunningGateway = await runGateway(
      gatewayConfigSchema.parse({
        http: { host: "127.0.0.1", port: 0 },
        grpc: { host: "127.0.0.1", port: 0 },
        opsPort: 0,
        routerAddress: stack.routerAddress,
        keyHashSecret: (await readFile(join(stack.home, "key-hash-secret"), "utf8")).trim(),
        logLevel: "silent",
        admin: { token: stack.adminToken },
        pricing,
        redisUrl: redis.url,
      }),
      { db: stack.database, bus: stack.bus, logger: silentLogger() },
    );
    try {
      const secondUrl = `http://127.0.0.1:${second.httpPort}`;
      const statuses = [];
      for (let index = 0; index < 6; index++) {
        statuses.push((await complete(secret, "hi", index % 2 ? secondUrl : stack.gatewayUrl)).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    } finally {
      await second.close();
    }
  });

  // The failure counter is asserted in the limiter's own tests; here the client's view.
  it("limits through Redis, and serves unlimited while Redis is down (the default)", async () => {
    const { secret } = await tenantWithKey({ requests_per_minute: 1 });
    expect((await complete(secret)).status).toBe(200);
    expect((await complete(secret)).status).toBe(429);
    await redis.kill();
    try {
      const served = await complete(secret);
      expect(served.status).toBe(200);
      expect(served.headers.get("x-ratelimit-limit-requests")).toBeNull();
    } finally {
      await redis.start();
    }
  });
});
