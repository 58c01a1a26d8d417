import { type Bus, Counter, createMemoryBus, migrate, Registry, silentLogger } from "@strata/kit";
import { gatewayMigrations, gatewaySchema } from "../../src/db/migrations.js";
import { LedgerWriter, type LedgerWriterOptions } from "../../src/usage/ledger-writer.js";
import { UsageRecorder } from "../../src/usage/usage-recorder.js";
import { startTestDatabase, type TestDatabase } from "../admin-test-gateway.js";

export interface LedgerHarness {
  database: TestDatabase;
  /** Publishes usage events on the bus the ledger writer consumes. */
  recorder: UsageRecorder;
  close(): Promise<void>;
}

/** A migrated test database and a LedgerWriter consuming an in-process bus that a UsageRecorder publishes to. */
export async function startLedgerHarness(
  options: Pick<LedgerWriterOptions, "batchSize" | "flushIntervalMs">,
): Promise<LedgerHarness> {
  const database = await startTestDatabase();
  await migrate(database.db, gatewaySchema, gatewayMigrations);
  const bus = createMemoryBus();
  const ledger = new LedgerWriter({ bus, db: database.db, logger: silentLogger(), ...options });
  await ledger.start();
  return {
    database,
    recorder: testUsageRecorder(bus),
    async close() {
      await ledger.stop();
      await bus.close();
      await database.close();
    },
  };
}

/** A UsageRecorder publishing to `bus`, its publish failures counted in a registry of its own. */
export function testUsageRecorder(bus: Bus): UsageRecorder {
  const failures = new Counter({ name: "failures", help: "failures", registers: [new Registry()] });
  return new UsageRecorder(bus, silentLogger(), failures);
}
