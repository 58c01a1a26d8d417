import { ConfigError, createMemoryBus } from "@strata/kit";
import { eventually } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGatewayConfig } from "../../src/config.js";
import {
  startTestDatabase,
  startTestGateway,
  type TestDatabase,
  type TestGateway,
} from "../admin-test-gateway.js";
import { testUsageRecorder } from "./ledger-harness.js";

const base = { GATEWAY_KEY_HASH_SECRET: "0123456789abcdef0123" };

describe("usage ledger settings", () => {
  it("default to batches of 1,000 events or one second, and 100 deliveries over about 8 hours", () => {
    const { backoffMs, ...rest } = loadGatewayConfig(base).usageLedger;
    expect(rest).toEqual({ batchSize: 1000, flushIntervalMs: 1000, maxDeliveries: 100 });
    expect(backoffMs).toEqual([1_000, 5_000, 15_000, 60_000, 300_000]);
    // Each delivery's wait, the last repeating: an outage this long dead-letters nothing.
    const waits = Array.from({ length: 99 }, (_, index) => backoffMs[Math.min(index, backoffMs.length - 1)]!);
    expect(waits.reduce((sum, wait) => sum + wait, 0) / 3_600_000).toBeGreaterThan(7.5);
  });

  it("are read from the environment", () => {
    const config = loadGatewayConfig({
      ...base,
      GATEWAY_USAGE_LEDGER_BATCH_SIZE: "200",
      GATEWAY_USAGE_LEDGER_FLUSH_INTERVAL_MS: "100",
      GATEWAY_USAGE_LEDGER_MAX_DELIVERIES: "5",
      GATEWAY_USAGE_LEDGER_BACKOFF_MS: "[100, 2000]",
    });
    expect(config.usageLedger).toEqual({
      batchSize: 200,
      flushIntervalMs: 100,
      maxDeliveries: 5,
      backoffMs: [100, 2000],
    });
  });

  it("refuse a batch of none and a wait of none, naming the variable", () => {
    for (const [name, value] of [
      ["GATEWAY_USAGE_LEDGER_BATCH_SIZE", "0"],
      ["GATEWAY_USAGE_LEDGER_FLUSH_INTERVAL_MS", "0"],
      ["GATEWAY_USAGE_LEDGER_BATCH_SIZE", "many"],
      ["GATEWAY_USAGE_LEDGER_MAX_DELIVERIES", "0"],
      ["GATEWAY_USAGE_LEDGER_BACKOFF_MS", "[]"],
    ] as const) {
      let error: unknown;
      try {
        loadGatewayConfig({ ...base, [name]: value });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect(String((error as Error).message)).toContain(name);
    }
  });
});

describe("a gateway's ledger writer", () => {
  let database: TestDatabase;
  let gateway: TestGateway;
  const bus = createMemoryBus();
  const recorder = testUsageRecorder(bus);

  beforeAll(async () => {
    database = await startTestDatabase();
    // A batch of two that never times out: only the second event gets anything written.
    gateway = await startTestGateway({
      db: database.db,
      bus,
      usageLedger: { batchSize: 2, flushIntervalMs: 60_000 },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await bus.close();
    await database?.close();
  });

  const rows = async (tenantId: string) =>
    (await database.db.query("SELECT request_id FROM gateway.usage_ledger WHERE tenant_id = $1", [tenantId]))
      .rows.length;

  it("uses the configured batch size and wait", async () => {
    const event = (requestId: string) => ({
      requestId,
      tenantId: "ten-ledger-settings",
      startedAtMs: BigInt(Date.now()),
    });
    recorder.record(event("settings-1"));
    // With the default one-second wait this event would be written by now.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await rows("ten-ledger-settings")).toBe(0);
    recorder.record(event("settings-2"));
    await eventually(async () => expect(await rows("ten-ledger-settings")).toBe(2));
  });
});
