import {
  findPostgresBinDir,
  type NativePostgresHandle,
  type NatsServerHandle,
  startNativePostgres,
  startNatsServer,
} from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestStack, type TestStack } from "../support/local-stack.js";

// CI installs Debian's postgresql; elsewhere the embedded PGlite stands in and says so.
const postgresBinDir = await findPostgresBinDir();
if (!postgresBinDir)
  console.warn("native Postgres not found (apt-get install postgresql): using PGlite for DATABASE_URL");

describe("with NATS_URL and DATABASE_URL set, the same code runs on NATS JetStream and Postgres", () => {
  let nats: NatsServerHandle;
  let postgres: NativePostgresHandle | undefined;
  let stack: TestStack;

  beforeAll(async () => {
    nats = await startNatsServer();
    postgres = postgresBinDir ? await startNativePostgres() : undefined;
    stack = await startTestStack(
      { engine: { decodeMsPerToken: 1 } },
      { natsUrl: nats.url, databaseUrl: postgres?.url },
    );
  });
  afterAll(async () => {
    await stack?.close();
    await nats?.stop();
    await postgres?.stop();
  });

  async function ledgerRow(requestId: string) {
    return eventually(async () => {
      const result = await stack.database.query("SELECT * FROM gateway.usage_ledger WHERE request_id = $1", [
        requestId,
      ]);
      return result.rows[0];
    }, 20_000);
  }

  it("writes the ledger row from the JetStream consumer", async () => {
    const response = await stack.post("/v1/chat/completions", {
      model: "strata-sim",
      max_tokens: 4,
      messages: [{ role: "user", content: "via nats" }],
    });
    expect(response.status).toBe(200);
    const row = await ledgerRow(response.headers.get("x-request-id")!);
    expect(row.status).toBe(200);
    expect(row.completion_tokens).toBeGreaterThan(0);
  });

  it("loses no usage when NATS restarts between requests", async () => {
    await nats.restart();
    const response = await stack.post("/v1/chat/completions", {
      model: "strata-sim",
      max_tokens: 4,
      messages: [{ role: "user", content: "after restart" }],
    });
    expect(response.status).toBe(200);
    const row = await ledgerRow(response.headers.get("x-request-id")!);
    expect(row.status).toBe(200);
  });
});
