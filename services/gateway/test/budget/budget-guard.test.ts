import { fromBinary } from "@bufbuild/protobuf";
import { createMemoryBus, StrataError, silentLogger } from "@strata/kit";
import { eventually } from "@strata/kit/testing";
import { budgetStream, gatewayEventsV1 } from "@strata/proto";
import { afterEach, describe, expect, it } from "vitest";
import { BudgetGuard } from "../../src/budget/budget-guard.js";
import { BudgetNotifier, processOnce } from "../../src/budget/budget-notifier.js";
import { MemorySpendCounters } from "../../src/budget/memory-spend-counters.js";
import { resolveLimits } from "../../src/limits/limit-settings.js";

const unlimited = resolveLimits(undefined, {});

async function setUp(start = Date.UTC(2025, 4, 31, 22, 0, 0)) {
  const clock = { now: start };
  const bus = createMemoryBus();
  const notifier = new BudgetNotifier({
    bus,
    once: processOnce,
    logger: silentLogger(),
    now: () => clock.now,
  });
  await notifier.start();
  const guard = new BudgetGuard({ counters: new MemorySpendCounters(), notifier, now: () => clock.now });
  const events: gatewayEventsV1.BudgetLimitReached[] = [];
  await bus.consume({ stream: budgetStream.name, durable: "test" }, async (message) => {
    events.push(fromBinary(gatewayEventsV1.BudgetLimitReachedSchema, message.data));
  });
  return { clock, bus, guard, events };
}

function refusal(run: () => void): StrataError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error as StrataError;
  }
}

describe("budgets", () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it("refuses a tenant's requests once its daily budget is spent, until the next UTC day", async () => {
    const { clock, bus, guard } = await setUp();
    closers.push(() => bus.close());
    const tenant = resolveLimits({ dailyBudgetUsd: 1 }, {});
    guard.check("ten_a", "key_a", tenant, unlimited);
    await guard.record("ten_a", "key_a", 0.6, tenant, unlimited);
    guard.check("ten_a", "key_b", tenant, unlimited);
    await guard.record("ten_a", "key_b", 0.5, tenant, unlimited);
    const error = refusal(() => guard.check("ten_a", "key_c", tenant, unlimited));
    expect(error).toBeInstanceOf(StrataError);
    expect(error).toMatchObject({ code: "insufficient_quota", httpStatus: 429, retryable: false });
    expect(error?.message).toContain("daily budget of tenant ten_a is $1");
    expect(error?.message).toContain("2025-06-01T00:00:00.000Z");
    // Another tenant is not affected.
    guard.check("ten_b", "key_d", tenant, unlimited);
    clock.now += 2 * 3_600_000; // past midnight UTC
    guard.check("ten_a", "key_c", tenant, unlimited);
  });

  it("keeps counting a month across days, and starts again with the next month", async () => {
    const { clock, bus, guard } = await setUp(Date.UTC(2025, 4, 30, 12));
    closers.push(() => bus.close());
    const key = resolveLimits({ monthlyBudgetUsd: 2 }, {});
    await guard.record("ten", "key_m", 1.5, unlimited, key);
    clock.now += 86_400_000; // May 31st
    await guard.record("ten", "key_m", 0.5, unlimited, key);
    expect(refusal(() => guard.check("ten", "key_m", unlimited, key))?.message).toContain(
      "monthly budget of API key key_m",
    );
    clock.now += 86_400_000; // June 1st
    guard.check("ten", "key_m", unlimited, key);
  });

  it("publishes a soft limit once per period, and a hard one when it is reached", async () => {
    const { clock, bus, guard, events } = await setUp(Date.UTC(2025, 4, 31, 12));
    closers.push(() => bus.close());
    const tenant = resolveLimits({ dailySoftBudgetUsd: 1, dailyBudgetUsd: 3 }, {});
    for (let index = 0; index < 5; index++) await guard.record("ten_s", "key_s", 0.5, tenant, unlimited);
    await eventually(() => expect(events.length).toBe(1));
    expect(events[0]).toMatchObject({
      tenantId: "ten_s",
      scope: "tenant",
      scopeId: "ten_s",
      period: "day",
      periodStart: "2025-05-31",
      limitKind: "soft",
      limitUsd: 1,
      spentUsd: 1,
    });
    await guard.record("ten_s", "key_s", 0.5, tenant, unlimited); // $3: the hard limit
    await guard.record("ten_s", "key_s", 0.5, tenant, unlimited);
    await eventually(() => expect(events.map((event) => event.limitKind)).toEqual(["soft", "hard"]));
    clock.now += 86_400_000; // a new day: a new notice when the soft limit is reached again
    await guard.record("ten_s", "key_s", 1, tenant, unlimited);
    await eventually(() => expect(events.length).toBe(3));
    expect(events[2]).toMatchObject({ limitKind: "soft", periodStart: "2025-06-01" });
  });

  it("ignores requests that cost nothing, and budgets of 0 (no limit)", async () => {
    const { bus, guard, events } = await setUp();
    closers.push(() => bus.close());
    const zero = resolveLimits({ dailyBudgetUsd: 0, dailySoftBudgetUsd: 0 }, {});
    for (let index = 0; index < 3; index++) await guard.record("ten_z", "key_z", 5, zero, zero);
    await guard.record("ten_z", "key_z", 0, zero, zero);
    guard.check("ten_z", "key_z", zero, zero);
    expect(events).toEqual([]);
  });
});
