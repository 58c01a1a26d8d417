import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, readSse, startTestStack, type TestStack } from "../support/local-stack.js";

const model = "strata-sim";
const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "user", content }],
  max_tokens: 8,
  ...extra,
});

describe("a chat completion through gateway → router → engine-sim", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.close());

  it("answers a chat completion and says which replica served it", async () => {
    const response = await stack.post("/v1/chat/completions", chat("Hello there"));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-strata-route")).toMatch(
      /^endpoint=sim-\d; model=strata-sim; strategy=kv-aware$/,
    );
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    const body = (await response.json()) as Record<string, any>;
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0].message.role).toBe("assistant");
    expect(body.choices[0].message.content.length).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(8);
  });

  it("streams a chat completion as server-sent events ending in [DONE]", async () => {
    const response = await stack.post("/v1/chat/completions", chat("Stream please", { stream: true }));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const events = await readSse(response);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
    // The gateway asked the engine for usage for its own accounting, but this client did not.
    expect(chunks.some((chunk) => chunk.choices.length === 0)).toBe(false);
  });

  it("passes the usage chunk through when the client asks for it", async () => {
    const response = await stack.post(
      "/v1/chat/completions",
      chat("Count my tokens", { stream: true, stream_options: { include_usage: true } }),
    );
    const chunks = (await readSse(response)).slice(0, -1).map((event) => JSON.parse(event));
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it("serves legacy completions, streaming and not", async () => {
    const plain = await stack.post("/v1/completions", { model, prompt: "Once upon a time", max_tokens: 5 });
    expect(plain.status).toBe(200);
    expect(((await plain.json()) as any).choices[0].text.length).toBeGreaterThan(0);
    const streamed = await stack.post("/v1/completions", {
      model,
      prompt: "Once upon a time",
      max_tokens: 5,
      stream: true,
    });
    expect((await readSse(streamed)).at(-1)).toBe("[DONE]");
  });

  it("reports cached prompt tokens when a prompt prefix repeats on a replica", async () => {
    const system = "You are a careful assistant. ".repeat(40);
    const ask = () =>
      stack.post("/v1/chat/completions", {
        model,
        max_tokens: 2,
        messages: [
          { role: "system", content: system },
          { role: "user", content: "hi" },
        ],
      });
    // Three replicas under least-load: repeat enough times to hit one twice.
    const cached = [];
    for (let attempt = 0; attempt < 6; attempt++)
      cached.push(((await (await ask()).json()) as any).usage.prompt_tokens_details?.cached_tokens ?? 0);
    expect(Math.max(...cached)).toBeGreaterThan(0);
  });

  it("stores the dev API key only as a keyed hash", async () => {
    const { rows } = await stack.database.query("SELECT * FROM gateway.api_keys");
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(stack.apiKey.slice(14));
    expect(rows[0].key_hash).toHaveLength(32);
  });

  it("lists the served model", async () => {
    const response = await fetch(`${stack.gatewayUrl}/v1/models`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.object).toBe("list");
    expect(body.data.map((entry: { id: string }) => entry.id)).toContain(model);
  });

  it("writes one usage ledger row per request, with tokens", async () => {
    const response = await stack.post("/v1/chat/completions", chat("ledger check"));
    const requestId = response.headers.get("x-request-id")!;
    const usage = ((await response.json()) as any).usage;
    const row = await eventually(async () => {
      const result = await stack.database.query("SELECT * FROM gateway.usage_ledger WHERE request_id = $1", [
        requestId,
      ]);
      return result.rows[0];
    });
    expect(row).toMatchObject({
      model,
      served_model: model,
      operation: "chat.completions",
      status: 200,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
    });
    expect(row.endpoint_id).toMatch(/^sim-\d$/);
    expect(row.time_to_first_token_ms).toBeGreaterThan(0);
  });
});
