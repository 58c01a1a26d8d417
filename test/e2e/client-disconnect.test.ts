import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestStack, type TestStack } from "../support/local-stack.js";

function metric(text: string, name: string): number {
  const line = text.split("\n").find((entry) => entry.startsWith(`${name}{`) || entry.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : Number.NaN;
}

async function engineMetric(stack: TestStack, name: string): Promise<number> {
  const values = await Promise.all(
    stack.engineUrls.map(async (url) => metric(await (await fetch(`${url}/metrics`)).text(), name)),
  );
  return values.reduce((sum, value) => sum + value, 0);
}

describe("a client that disconnects mid-stream", () => {
  let stack: TestStack;

  beforeAll(async () => {
    // 20 ms per token and 400 tokens: the answer would take ~8 s, so the cancel must be what ends it.
    stack = await startTestStack({ engine: { decodeMsPerToken: 20 } });
  });
  afterAll(() => stack.close());

  it("cancels the engine request, frees the replica and records the request as client-closed", async () => {
    const response = await stack.post("/v1/chat/completions", {
      model: "strata-sim",
      stream: true,
      max_tokens: 400,
      ignore_eos: true,
      messages: [{ role: "user", content: "tell me a long story" }],
    });
    const requestId = response.headers.get("x-request-id")!;
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("data: ");
    expect(await engineMetric(stack, "vllm:num_requests_running")).toBe(1);

    await reader.cancel();

    await eventually(
      async () => ((await engineMetric(stack, "vllm:num_requests_running")) === 0 ? true : undefined),
      3_000,
    );
    expect(await engineMetric(stack, "strata_engine_sim_aborted_requests_total")).toBe(1);
    const row = await eventually(async () => {
      const result = await stack.database.query(
        "SELECT status, error_code, completion_tokens FROM gateway.usage_ledger WHERE request_id = $1",
        [requestId],
      );
      return result.rows[0];
    });
    expect(row).toMatchObject({ status: 499, error_code: "client_closed" });

    // The gateway and the replica keep serving.
    const next = await stack.post("/v1/chat/completions", {
      model: "strata-sim",
      max_tokens: 2,
      messages: [{ role: "user", content: "still there?" }],
    });
    expect(next.status).toBe(200);
  });
});
