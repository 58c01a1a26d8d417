import { createMemoryBus, migrate, silentLogger } from "@strata/kit";
import { eventually } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetGuard } from "../../src/budget/budget-guard.js";
import { budgetPeriod } from "../../src/budget/budget-period.js";
import { spendFromLedger } from "../../src/budget/ledger-spend.js";
import { MemorySpendCounters } from "../../src/budget/memory-spend-counters.js";
import { gatewayMigrations, gatewaySchema } from "../../src/db/migrations.js";
import { resolveLimits } from "../../src/limits/limit-settings.js";
import { LimitSettingsStore } from "../../src/limits/limit-settings-store.js";
import { usageReport } from "../../src/usage/usage-report.js";
import { startTestDatabase, type TestDatabase } from "../admin-test-gateway.js";

let database: TestDatabase;
let sequence = 0;
const unique = (name: string) => `${name}_${Date.now().toString(36)}_${++sequence}`;

beforeAll(async () => {
  database = await startTestDatabase();
  await migrate(database.db, gatewaySchema, gatewayMigrations);
});
afterAll(async () => {
  await database?.close();
});

interface LedgerRow {
  tenant: string;
  key: string;
  model?: string;
  at: Date;
  prompt?: number;
  completion?: number;
  cached?: number;
  status?: number;
  cost?: number;
}

async function insertLedger(rows: LedgerRow[]): Promise<void> {
  for (const row of rows) {
    await database.db.query(
      `INSERT INTO gateway.usage_ledger (request_id, tenant_id, api_key_id, model, served_model, endpoint_id,
         operation, stream, prompt_tokens, completion_tokens, cached_tokens, latency_ms, time_to_first_token_ms,
         status, error_code, started_at, cost_usd)
       VALUES ($1, $2, $3, $4, $4, 'sim-0', 'chat.completions', false, $5, $6, $7, 10, 5, $8, '', $9, $10)`,
      [
        unique("req"),
        row.tenant,
        row.key,
        row.model ?? "m1",
        row.prompt ?? 10,
        row.completion ?? 5,
        row.cached ?? 0,
        row.status ?? 200,
        row.at,
        row.cost ?? 0,
      ],
    );
  }
}

describe("limit overrides in the database", () => {
  const defaults = { tenant: { requestsPerMinute: 100 }, key: { tokensPerMinute: 5_000 } };

  it("applies an override over the defaults, field by field, and removes it when emptied", async () => {
    const store = new LimitSettingsStore({
      db: database.db,
      defaults,
      refreshIntervalMs: 60_000,
      logger: silentLogger(),
    });
    await store.start();
    const keyId = unique("key");
    expect(store.forKey(keyId)).toMatchObject({ tokensPerMinute: 5_000, requestsPerMinute: 0 });
    await store.write("key", keyId, { requestsPerMinute: 10, tokensPerMinute: 0 });
    expect(store.forKey(keyId)).toMatchObject({
      requestsPerMinute: 10,
      tokensPerMinute: 0,
      concurrentRequests: 0,
    });
    expect((await store.read("key", keyId)).overrides).toEqual({ requestsPerMinute: 10, tokensPerMinute: 0 });
    await store.write("key", keyId, {});
    expect(store.forKey(keyId)).toMatchObject({ tokensPerMinute: 5_000, requestsPerMinute: 0 });
    expect(await store.read("key", keyId)).toEqual({ overrides: {}, updatedAt: null });
    await store.close();
  });

  it("reaches another replica within its refresh interval", async () => {
    const options = { db: database.db, defaults, logger: silentLogger() };
    const writer = new LimitSettingsStore({ ...options, refreshIntervalMs: 60_000 });
    const reader = new LimitSettingsStore({ ...options, refreshIntervalMs: 100 });
    await Promise.all([writer.start(), reader.start()]);
    const tenantId = unique("ten");
    await writer.write("tenant", tenantId, { dailyBudgetUsd: 12.5 });
    await eventually(() => expect(reader.forTenant(tenantId).dailyBudgetUsd).toBe(12.5));
    expect(reader.forTenant(tenantId).requestsPerMinute).toBe(100);
    await Promise.all([writer.close(), reader.close()]);
  });

  it("reaches another replica at once when the change is announced on the bus", async () => {
    const bus = createMemoryBus();
    // Refresh intervals far beyond the test: only the announcement can carry the change.
    const options = { db: database.db, defaults, logger: silentLogger(), refreshIntervalMs: 3_600_000, bus };
    const writer = new LimitSettingsStore(options);
    const reader = new LimitSettingsStore(options);
    await Promise.all([writer.start(), reader.start()]);
    const keyId = unique("key");
    await writer.write("key", keyId, { concurrentRequests: 3 });
    await eventually(() => expect(reader.forKey(keyId).concurrentRequests).toBe(3));
    await writer.write("key", keyId, {});
    await eventually(() => expect(reader.forKey(keyId).concurrentRequests).toBe(0));
    await Promise.all([writer.close(), reader.close()]);
    await bus.close();
  });
});

describe("spend rebuilt from the ledger", () => {
  it("sums this day and this month per key and per tenant, ignoring earlier months", async () => {
    const now = Date.UTC(2031, 2, 15, 12);
    const tenant = unique("ten");
    await insertLedger([
      { tenant, key: "key_a", at: new Date(Date.UTC(2031, 2, 15, 1)), cost: 1 },
      { tenant, key: "key_a", at: new Date(Date.UTC(2031, 2, 3)), cost: 2 },
      { tenant, key: "key_b", at: new Date(Date.UTC(2031, 2, 15, 11)), cost: 0.25 },
      { tenant, key: "key_b", at: new Date(Date.UTC(2031, 1, 28, 23)), cost: 100 }, // last month
    ]);
    const period = budgetPeriod(now);
    const seeds = (await spendFromLedger(database.db, period)).filter((seed) => seed.tenantId === tenant);
    expect(seeds).toEqual(
      expect.arrayContaining([
        { scope: "tenant", id: tenant, tenantId: tenant, day: 1.25, month: 3.25 },
        { scope: "key", id: "key_a", tenantId: tenant, day: 1, month: 3 },
        { scope: "key", id: "key_b", tenantId: tenant, day: 0.25, month: 0.25 },
      ]),
    );
    expect(seeds).toHaveLength(3);

    // A gateway starting now refuses what the ledger says is spent.
    const counters = new MemorySpendCounters();
    await counters.seed(seeds, period);
    const guard = new BudgetGuard({ counters, notifier: { notify: async () => {} }, now: () => now });
    const unlimited = resolveLimits(undefined, {});
    expect(() => guard.check(tenant, "key_a", resolveLimits({ monthlyBudgetUsd: 3 }, {}), unlimited)).toThrow(
      /monthly budget of tenant/,
    );
    guard.check(tenant, "key_a", resolveLimits({ monthlyBudgetUsd: 4, dailyBudgetUsd: 2 }, {}), unlimited);
  });
});

describe("usage reports", () => {
  it("groups and filters by tenant, key, model and UTC day, and says when rows were left out", async () => {
    const tenant = unique("ten");
    const day1 = new Date(Date.UTC(2032, 0, 1, 23, 30));
    const day2 = new Date(Date.UTC(2032, 0, 2, 0, 30));
    await insertLedger([
      { tenant, key: "k1", model: "m1", at: day1, prompt: 100, completion: 10, cached: 40, cost: 0.5 },
      { tenant, key: "k1", model: "m2", at: day1, prompt: 1, completion: 1, status: 429 },
      { tenant, key: "k2", model: "m1", at: day2, prompt: 7, completion: 3, cost: 0.25 },
      { tenant: unique("other"), key: "k3", model: "m1", at: day2, prompt: 1_000 },
    ]);
    const range = { from: new Date(Date.UTC(2032, 0, 1)), to: new Date(Date.UTC(2032, 0, 3)), limit: 100 };
    const byDay = await usageReport(database.db, { ...range, groupBy: ["day"], tenantId: tenant });
    expect(byDay.rows).toEqual([
      {
        day: "2032-01-01",
        requests: 2,
        errors: 1,
        prompt_tokens: 101,
        completion_tokens: 11,
        cached_tokens: 40,
        total_tokens: 112,
        cost_usd: 0.5,
      },
      {
        day: "2032-01-02",
        requests: 1,
        errors: 0,
        prompt_tokens: 7,
        completion_tokens: 3,
        cached_tokens: 0,
        total_tokens: 10,
        cost_usd: 0.25,
      },
    ]);
    expect(byDay.totals).toMatchObject({ requests: 3, errors: 1, prompt_tokens: 108, cost_usd: 0.75 });

    const byKeyModel = await usageReport(database.db, {
      ...range,
      groupBy: ["key", "model"],
      tenantId: tenant,
    });
    expect(byKeyModel.rows.map((row) => [row.api_key_id, row.model, row.requests])).toEqual([
      ["k1", "m1", 1],
      ["k1", "m2", 1],
      ["k2", "m1", 1],
    ]);

    const firstDayOnly = await usageReport(database.db, {
      groupBy: ["tenant"],
      tenantId: tenant,
      from: new Date(Date.UTC(2032, 0, 1)),
      to: new Date(Date.UTC(2032, 0, 2)),
      limit: 100,
    });
    expect(firstDayOnly.rows).toEqual([expect.objectContaining({ tenant_id: tenant, requests: 2 })]);

    const truncated = await usageReport(database.db, {
      ...range,
      groupBy: ["key", "model"],
      tenantId: tenant,
      limit: 2,
    });
    expect(truncated.rows).toHaveLength(2);
    expect(truncated.hasMore).toBe(true);
    expect(truncated.totals.requests).toBe(3);

    const oneKey = await usageReport(database.db, { ...range, groupBy: [], apiKeyId: "k2", model: "m1" });
    expect(oneKey.rows).toEqual([expect.objectContaining({ requests: 1, prompt_tokens: 7 })]);
  });
});
