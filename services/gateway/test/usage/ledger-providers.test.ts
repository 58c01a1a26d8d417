import { eventually } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageQuerySchema } from "../../src/usage/usage-admin-routes.js";
import type { UsageEventInit } from "../../src/usage/usage-recorder.js";
import { usageReport } from "../../src/usage/usage-report.js";
import { type LedgerHarness, startLedgerHarness } from "./ledger-harness.js";

let ledger: LedgerHarness;
let sequence = 0;
const unique = (name: string) => `${name}_${Date.now().toString(36)}_${++sequence}`;
const at = Date.UTC(2033, 5, 1, 12);

beforeAll(async () => {
  ledger = await startLedgerHarness({ flushIntervalMs: 10 });
});
afterAll(() => ledger?.close());

function event(tenantId: string, fields: Omit<UsageEventInit, "$typeName">): UsageEventInit {
  return {
    requestId: unique("req"),
    tenantId,
    apiKeyId: "key_1",
    model: "chat-best",
    operation: "chat.completions",
    status: 200,
    startedAtMs: BigInt(at),
    ...fields,
  };
}

async function ledgerRows(tenantId: string, count: number): Promise<Record<string, unknown>[]> {
  let rows: Record<string, unknown>[] = [];
  await eventually(
    async () => {
      const result = await ledger.database.db.query(
        `SELECT request_id, provider, attempts, fallback_index, route, attempt_errors, cost_usd
           FROM gateway.usage_ledger WHERE tenant_id = $1`,
        [tenantId],
      );
      rows = result.rows;
      expect(rows).toHaveLength(count);
    },
    { timeoutMs: 15_000 },
  );
  return rows;
}

describe("the ledger's provider and attempt columns", () => {
  it("stores who answered, after how many tries, and each failed try's line as written", async () => {
    const tenant = unique("ten");
    const errors = [
      'dead:x (dead): connect ECONNREFUSED 127.0.0.1:9, "quoted", {braced}',
      "dead:x (dead): timed out \\ after 5 s",
    ];
    const fellBack = event(tenant, {
      provider: "oai",
      attempts: 3,
      fallbackIndex: 1,
      route: "provider=oai; model=sim-oai; attempts=3; fallback=1",
      attemptErrors: errors,
      promptTokens: 12,
      completionTokens: 4,
      costUsd: 0.5,
    });
    const refused = event(tenant, { status: 429, errorCode: "rate_limit_exceeded" });
    ledger.recorder.record(fellBack);
    ledger.recorder.record(refused);
    const rows = await ledgerRows(tenant, 2);
    const byId = new Map(rows.map((row) => [row.request_id, row]));
    expect(byId.get(fellBack.requestId)).toMatchObject({
      provider: "oai",
      attempts: 3,
      fallback_index: 1,
      route: "provider=oai; model=sim-oai; attempts=3; fallback=1",
      attempt_errors: errors,
    });
    expect(byId.get(refused.requestId)).toMatchObject({
      provider: "",
      attempts: 0,
      fallback_index: 0,
      route: "",
      attempt_errors: [],
    });
  });

  it("groups usage by provider and operation, and filters by provider", async () => {
    const tenant = unique("ten");
    const served = (provider: string, operation: string, costUsd: number, promptTokens: number) =>
      event(tenant, { provider, operation, costUsd, promptTokens, attempts: 1 });
    for (const usage of [
      served("engine", "chat.completions", 0.25, 10),
      served("engine", "chat.completions", 0.5, 20),
      served("oai", "chat.completions", 1, 30),
      served("local", "embeddings", 0.125, 40),
      event(tenant, { status: 503, errorCode: "no_healthy_upstream", attempts: 2 }),
    ])
      ledger.recorder.record(usage);
    await ledgerRows(tenant, 5);
    const range = { from: new Date(at - 1_000), to: new Date(at + 1_000), limit: 100, tenantId: tenant };

    const byProvider = await usageReport(ledger.database.db, {
      ...range,
      groupBy: ["provider", "operation"],
    });
    expect(
      byProvider.rows.map((row) => [row.provider, row.operation, row.requests, row.errors, row.cost_usd]),
    ).toEqual([
      ["", "chat.completions", 1, 1, 0],
      ["engine", "chat.completions", 2, 0, 0.75],
      ["local", "embeddings", 1, 0, 0.125],
      ["oai", "chat.completions", 1, 0, 1],
    ]);
    expect(byProvider.totals).toMatchObject({ requests: 5, errors: 1, prompt_tokens: 100, cost_usd: 1.875 });

    const embeddingsOnly = await usageReport(ledger.database.db, {
      ...range,
      groupBy: ["model"],
      provider: "local",
    });
    expect(embeddingsOnly.rows).toEqual([
      expect.objectContaining({ model: "chat-best", requests: 1, prompt_tokens: 40, cost_usd: 0.125 }),
    ]);
  });

  it("accepts provider and operation in group_by and provider as a filter", () => {
    expect(usageQuerySchema.parse({ group_by: "provider,operation,day", provider: "oai" })).toEqual({
      group_by: ["provider", "operation", "day"],
      provider: "oai",
    });
    expect(usageQuerySchema.safeParse({ group_by: "provider,region" }).success).toBe(false);
    expect(usageQuerySchema.safeParse({ provider: "" }).success).toBe(false);
  });
});
