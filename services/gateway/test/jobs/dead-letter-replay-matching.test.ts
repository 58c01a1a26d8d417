import { type Bus, createMemoryBus, migrate } from "@strata/kit";
import { jobDeadLetterStream, jobDeadLetterSubject, usageStream, usageSubject } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayMigrations, gatewaySchema } from "../../src/db/migrations.js";
import { deadLetterHeaders } from "../../src/jobs/dead-letter-mover.js";
import { DeadLetterReplay } from "../../src/jobs/dead-letter-replay.js";
import { DeadLetterStore } from "../../src/jobs/dead-letter-store.js";
import { startTestDatabase, type TestDatabase } from "../admin-test-gateway.js";

const tenantId = "ten-replay-matching";

describe("replaying every matching dead letter", () => {
  let database: TestDatabase;
  let bus: Bus;
  let letters: DeadLetterStore;
  let replay: DeadLetterReplay;
  const republished: string[] = [];

  beforeAll(async () => {
    database = await startTestDatabase();
    await migrate(database.db, gatewaySchema, gatewayMigrations);
    bus = createMemoryBus();
    await bus.ensureStream({ name: jobDeadLetterStream.name, subjects: [...jobDeadLetterStream.subjects] });
    await bus.ensureStream({ name: usageStream.name, subjects: [...usageStream.subjects] });
    await bus.consume({ stream: usageStream.name, durable: "test" }, async (message) => {
      republished.push(new TextDecoder().decode(message.data));
    });
    letters = new DeadLetterStore(database.db);
    const refuse = async () => {
      throw new Error("usage letters touch no job or batch");
    };
    replay = new DeadLetterReplay({
      letters,
      bus,
      jobs: { get: refuse, requeueFailed: refuse, markEnqueued: refuse },
      batches: { assertOpen: refuse, reopenDeadStart: refuse },
    });
  });
  afterAll(async () => {
    await bus?.close();
    await database?.close();
  });

  const letter = (index: number, deadSeq: number) => ({
    id: `dl_matching_${String(index).padStart(3, "0")}`,
    deadSeq,
    kind: "usage",
    subject: usageSubject(tenantId),
    consumer: "gateway-usage-ledger",
    deliveries: 3,
    sourceStream: usageStream.name,
    sourceSeq: 1_000 + index,
    jobId: undefined,
    batchId: undefined,
    tenantId,
    error: undefined,
  });

  it("replays the ones it can, reports the rest, and pages past them", async () => {
    // Two letters whose messages are in the dead-letter stream (sequences 1 and 2)...
    for (const payload of ["first", "second"])
      await bus.publish(jobDeadLetterSubject("usage"), new TextEncoder().encode(payload), {
        headers: { [deadLetterHeaders.subject]: usageSubject(tenantId) },
      });
    await letters.insert(letter(0, 1));
    await letters.insert(letter(1, 2));
    // ...and more than a page of letters whose messages are gone (aged out of the stream).
    for (let index = 2; index < 105; index++) await letters.insert(letter(index, 10_000 + index));

    const result = await replay.replayMatching({ kind: "usage", tenantId }, 1_000);
    expect(result.replayed.sort()).toEqual(["dl_matching_000", "dl_matching_001"]);
    expect(result.failed).toHaveLength(103);
    expect(result.failed[0]!.error.code).toBe("failed_precondition");
    expect(republished.sort()).toEqual(["first", "second"]);

    // The limit counts every letter tried; the replayed ones are not listed again.
    const limited = await replay.replayMatching({ kind: "usage", tenantId }, 5);
    expect(limited.replayed).toEqual([]);
    expect(limited.failed).toHaveLength(5);
    expect(await replay.replayMatching({ kind: "run", tenantId }, 1_000)).toEqual({
      replayed: [],
      failed: [],
    });
  });
});
