import { type Bus, createMemoryBus, createNatsBus } from "@strata/kit";
import { eventually, type NatsServerHandle, startNatsServer } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startTestDatabase,
  startTestGateway,
  type TestDatabase,
  type TestGateway,
} from "../admin-test-gateway.js";
import { testUsageRecorder } from "./ledger-harness.js";

interface DeadLetterJson {
  id: string;
  kind: string;
  subject: string;
  consumer: string;
  deliveries: number;
  tenant_id: string | null;
  replayed_at: number | null;
}

const MAX_DELIVERIES = 3;

// The same behaviour on JetStream (max-deliveries advisories from the server) and on the in-process bus.
describe.each(["memory", "nats"] as const)("usage events the ledger cannot write (%s bus)", (kind) => {
  let nats: NatsServerHandle | undefined;
  let bus: Bus;
  let database: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    if (kind === "nats") nats = await startNatsServer();
    bus = nats ? await createNatsBus({ url: nats.url, name: "usage-dead-letters" }) : createMemoryBus();
    database = await startTestDatabase();
    gateway = await startTestGateway({
      db: database.db,
      bus,
      usageLedger: { batchSize: 10, flushIntervalMs: 20, maxDeliveries: MAX_DELIVERIES, backoffMs: [50] },
    });
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    await bus?.close();
    await database?.close();
    await nats?.stop();
  });

  const ledgerRows = async (tenantId: string) =>
    (
      await database.db.query<{ request_id: string; model: string }>(
        "SELECT request_id, model FROM gateway.usage_ledger WHERE tenant_id = $1 ORDER BY request_id",
        [tenantId],
      )
    ).rows;

  it("dead-letters an event Postgres refuses, writes the rest, and writes it on replay once fixed", async () => {
    const tenantId = `ten-dead-usage-${kind}`;
    const recorder = testUsageRecorder(bus);
    const event = (requestId: string, model: string) => ({
      requestId,
      tenantId,
      model,
      promptTokens: 12,
      startedAtMs: BigInt(Date.now()),
    });
    // A rule the ledger's table holds (here, of the test's making) that one event breaks.
    const constraint = `refuse_${kind}`;
    await database.db.query(
      `ALTER TABLE gateway.usage_ledger ADD CONSTRAINT ${constraint} CHECK (model <> 'refused-${kind}')`,
    );
    recorder.record(event(`${kind}-refused-1`, `refused-${kind}`));
    recorder.record(event(`${kind}-refused-2`, `refused-${kind}`));
    recorder.record(event(`${kind}-fine`, "strata-sim"));

    let letters: DeadLetterJson[] = [];
    await eventually(
      async () => {
        const response = await gateway.admin("GET", `/dead-letters?kind=usage&tenant_id=${tenantId}`);
        letters = ((await response.json()) as { data: DeadLetterJson[] }).data;
        expect(letters).toHaveLength(2);
      },
      { timeoutMs: 20_000 },
    );
    const [letter, other] = letters;
    expect(letter).toMatchObject({
      kind: "usage",
      subject: `strata.usage.v1.${tenantId}`,
      consumer: "gateway-usage-ledger",
      deliveries: MAX_DELIVERIES,
      tenant_id: tenantId,
      replayed_at: null,
    });
    // The refused event held back nothing else.
    expect(await ledgerRows(tenantId)).toEqual([{ request_id: `${kind}-fine`, model: "strata-sim" }]);

    // The operator lifts the rule, then replays one, and then every other one of the tenant's.
    await database.db.query(`ALTER TABLE gateway.usage_ledger DROP CONSTRAINT ${constraint}`);
    const replay = await gateway.admin("POST", `/dead-letters/${letter!.id}/replay`);
    expect(replay.status).toBe(200);
    expect((await gateway.admin("POST", `/dead-letters/${letter!.id}/replay`)).status).toBe(409);
    const all = await gateway.admin("POST", "/dead-letters/replay", { kind: "usage", tenant_id: tenantId });
    expect(await all.json()).toEqual({ object: "dead_letter_replay", replayed: [other!.id], failed: [] });
    // Each event is written once.
    await eventually(async () =>
      expect(await ledgerRows(tenantId)).toEqual([
        { request_id: `${kind}-fine`, model: "strata-sim" },
        { request_id: `${kind}-refused-1`, model: `refused-${kind}` },
        { request_id: `${kind}-refused-2`, model: `refused-${kind}` },
      ]),
    );
    const again = await gateway.admin("POST", "/dead-letters/replay", { kind: "usage", tenant_id: tenantId });
    expect(await again.json()).toMatchObject({ replayed: [], failed: [] });
    const bad = await gateway.admin("POST", "/dead-letters/replay", { kind: "usage", limit: 0 });
    expect(bad.status).toBe(400);
  }, 60_000);
});
