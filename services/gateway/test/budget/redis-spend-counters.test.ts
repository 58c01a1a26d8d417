import { fromBinary } from "@bufbuild/protobuf";
import { Counter, createMemoryBus, Registry, silentLogger } from "@strata/kit";
import { eventually, type RedisServerHandle, startRedisServer } from "@strata/kit/testing";
import { budgetStream, gatewayEventsV1 } from "@strata/proto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetGuard } from "../../src/budget/budget-guard.js";
import { BudgetNotifier, redisOnce } from "../../src/budget/budget-notifier.js";
import { budgetPeriod } from "../../src/budget/budget-period.js";
import { RedisSpendCounters } from "../../src/budget/redis-spend-counters.js";
import { resolveLimits } from "../../src/limits/limit-settings.js";
import { BackendErrorReporter } from "../../src/ratelimit/backend-errors.js";
import { connectRedis } from "../../src/redis/redis-client.js";

let server: RedisServerHandle;
const clients: Redis[] = [];
const unlimited = resolveLimits(undefined, {});
let sequence = 0;
const unique = (name: string) => `${name}_${Date.now().toString(36)}_${++sequence}`;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.stop();
});

async function replica(bus = createMemoryBus(), syncIntervalMs = 100) {
  const redis = await connectRedis({ url: server.url, commandTimeoutMs: 1_000, logger: silentLogger() });
  clients.push(redis);
  const counter = new Counter({
    name: "errors",
    help: "test",
    labelNames: ["operation"],
    registers: [new Registry()],
  });
  const errors = new BackendErrorReporter({ counter, logger: silentLogger() });
  const counters = new RedisSpendCounters({ redis, keyPrefix: "test:", syncIntervalMs, errors });
  const notifier = new BudgetNotifier({
    bus,
    once: redisOnce(redis, "test:", errors),
    logger: silentLogger(),
  });
  await notifier.start();
  const guard = new BudgetGuard({ counters, notifier });
  return { guard, counters, bus, errors: async () => (await counter.get()).values.length };
}

describe("spend shared through Redis", () => {
  it("refuses on every replica once the tenant's budget is spent on any of them", async () => {
    const first = await replica();
    const second = await replica();
    const tenantId = unique("ten");
    const tenant = resolveLimits({ dailyBudgetUsd: 1 }, {});
    second.guard.check(tenantId, "key_2", tenant, unlimited); // second starts following this tenant
    await first.guard.record(tenantId, "key_1", 1.25, tenant, unlimited);
    // The second replica learns of it within its sync interval, without serving a request.
    await eventually(
      async () => {
        await second.counters.flush();
        expect(() => second.guard.check(tenantId, "key_2", tenant, unlimited)).toThrow(/daily budget/);
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
  });

  it("publishes a soft-limit notice once even when two replicas cross it", async () => {
    const bus = createMemoryBus();
    const first = await replica(bus);
    const second = await replica(bus);
    const events: gatewayEventsV1.BudgetLimitReached[] = [];
    await bus.consume({ stream: budgetStream.name, durable: "test" }, async (message) => {
      events.push(fromBinary(gatewayEventsV1.BudgetLimitReachedSchema, message.data));
    });
    const keyId = unique("key");
    const key = resolveLimits({ monthlySoftBudgetUsd: 1 }, {});
    await first.guard.record("ten_x", keyId, 0.75, unlimited, key);
    await Promise.all([
      first.guard.record("ten_x", keyId, 0.5, unlimited, key),
      second.guard.record("ten_x", keyId, 0.5, unlimited, key),
    ]);
    await first.guard.record("ten_x", keyId, 0.5, unlimited, key);
    await second.guard.record("ten_x", keyId, 0.5, unlimited, key);
    await eventually(() => expect(events.length).toBe(1));
    expect(events[0]).toMatchObject({ scope: "key", scopeId: keyId, period: "month", limitKind: "soft" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events.length).toBe(1);
    await bus.close();
  });

  it("rebuilds missing counters from the ledger's sums without overwriting live ones", async () => {
    const { counters } = await replica();
    const period = budgetPeriod(Date.now());
    const tenantId = unique("ten");
    await counters.add(tenantId, "key_live", 2, period); // live in Redis: tenant $2, key_live $2
    await counters.seed(
      [
        { scope: "tenant", id: tenantId, tenantId, day: 1, month: 5 }, // stale: Redis knows better
        { scope: "key", id: "key_lost", tenantId, day: 0.5, month: 3 }, // missing in Redis: seeded
      ],
      period,
    );
    const fresh = await replica();
    const now = Date.now();
    fresh.counters.lookup("tenant", tenantId, tenantId, now);
    fresh.counters.lookup("key", "key_lost", tenantId, now);
    await fresh.counters.flush();
    expect(fresh.counters.lookup("tenant", tenantId, tenantId, now)).toMatchObject({
      daySpend: 2,
      monthSpend: 2,
    });
    expect(fresh.counters.lookup("key", "key_lost", tenantId, now)).toMatchObject({
      daySpend: 0.5,
      monthSpend: 3,
    });
  });

  it("keeps counting on this replica while Redis is down", async () => {
    const { guard, errors } = await replica(createMemoryBus(), 60_000);
    const tenant = resolveLimits({ dailyBudgetUsd: 1 }, {});
    const tenantId = unique("ten");
    await server.kill();
    try {
      await guard.record(tenantId, "key", 1.5, tenant, unlimited);
      expect(() => guard.check(tenantId, "key", tenant, unlimited)).toThrow(/daily budget/);
      expect(await errors()).toBeGreaterThan(0);
    } finally {
      await server.start();
    }
  });
});
