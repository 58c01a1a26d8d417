import { type NatsServerHandle, startNatsServer } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestStack, type TestStack } from "../support/local-stack.js";

describe("with NATS_URL set, usage flows through a real JetStream", () => {
  let nats: NatsServerHandle;
  let stack: TestStack;

  beforeAll(async () => {
    nats = await startNatsServer();
    stack = await startTestStack({ engine: { decodeMsPerToken: 1 } }, { natsUrl: nats.url });
  });
  afterAll(async () => {
    await stack?.close();
    await nats?.stop();
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
