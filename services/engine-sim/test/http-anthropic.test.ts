import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EngineSim, startEngineSim } from "../src/index.js";
import { json, post } from "./helpers.js";

let sim: EngineSim;
const headers = {
  "content-type": "application/json",
  "x-api-key": "sk-ant-test",
  "anthropic-version": "2023-06-01",
};
const tools = [
  {
    name: "get_weather",
    description: "Weather",
    input_schema: { type: "object", properties: { city: { type: "string" } } },
  },
];

beforeAll(async () => {
  sim = await startEngineSim({
    port: 0,
    api: "anthropic",
    model: "sim-claude",
    apiKey: "sk-ant-test",
    timeScale: 0,
    logLevel: "silent",
    scriptRules: [
      {
        match: "weather",
        reply: "Checking.",
        toolCalls: [{ name: "get_weather", arguments: { city: "Rome" } }],
      },
      { match: "greet", reply: "Hello there, friend." },
    ],
  });
});
afterAll(() => sim.close());

const messages = (body: Record<string, unknown>, extraHeaders: Record<string, string> = {}) =>
  post(
    `${sim.url}/v1/messages`,
    { model: "sim-claude", max_tokens: 64, messages: [{ role: "user", content: "greet me" }], ...body },
    { headers: { ...headers, ...extraHeaders } },
  );

/** Anthropic's SSE: `event: <type>` and `data: <json>` per event. */
async function events(response: Response): Promise<{ event: string; data: any }[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.length > 0)
    .map((block) => {
      const [eventLine, dataLine] = block.split("\n");
      return {
        event: eventLine!.slice("event: ".length),
        data: JSON.parse(dataLine!.slice("data: ".length)),
      };
    });
}

describe("Anthropic Messages API mode", () => {
  it("answers a message with Anthropic's shape and usage split", async () => {
    const response = await messages({ system: "Be kind." });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body).toMatchObject({
      type: "message",
      role: "assistant",
      model: "sim-claude",
      content: [{ type: "text", text: "Hello there, friend." }],
      stop_reason: "end_turn",
      stop_sequence: null,
    });
    expect(body.id).toMatch(/^msg_/);
    expect(body.usage.input_tokens).toBeGreaterThan(0);
    expect(body.usage.output_tokens).toBeGreaterThan(0);
    expect(body.usage.cache_read_input_tokens).toBe(0);
  });

  it("reports prefix-cache hits as cache reads", async () => {
    const system = "Long shared instructions. ".repeat(40);
    await messages({ system });
    const body = await json(await messages({ system }));
    expect(body.usage.cache_read_input_tokens).toBeGreaterThan(0);
  });

  it("stops on max_tokens and on stop sequences", async () => {
    expect((await json(await messages({ max_tokens: 2 }))).stop_reason).toBe("max_tokens");
    const stopped = await json(await messages({ stop_sequences: ["friend"] }));
    expect(stopped).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: "friend" });
    expect(stopped.content[0].text).toBe("Hello there, ");
  });

  it("calls tools with tool_use blocks", async () => {
    const body = await json(
      await messages({ messages: [{ role: "user", content: "weather in Rome?" }], tools }),
    );
    expect(body.stop_reason).toBe("tool_use");
    expect(body.content).toEqual([
      {
        type: "tool_use",
        id: expect.stringMatching(/^toolu_/),
        name: "get_weather",
        input: { city: "Rome" },
      },
    ]);
    const forced = await json(await messages({ tools, tool_choice: { type: "tool", name: "get_weather" } }));
    expect(forced.content[0]).toMatchObject({ type: "tool_use", name: "get_weather" });
    expect(typeof forced.content[0].input.city).toBe("string");
    const none = await json(
      await messages({
        messages: [{ role: "user", content: "weather?" }],
        tools,
        tool_choice: { type: "none" },
      }),
    );
    expect(none.content[0].type).toBe("text");
  });

  it("answers structured output as JSON text", async () => {
    const schema = { type: "object", properties: { answer: { type: "integer" } } };
    const body = await json(await messages({ output_config: { format: { type: "json_schema", schema } } }));
    expect(Number.isInteger(JSON.parse(body.content[0].text).answer)).toBe(true);
  });

  it("streams the event sequence of a text message", async () => {
    const stream = await events(await messages({ stream: true }));
    expect(stream.map((entry) => entry.event)).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      ...stream.slice(3, -3).map(() => "content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(stream.every((entry) => entry.event === entry.data.type)).toBe(true);
    expect(stream[0]!.data.message).toMatchObject({ role: "assistant", content: [], stop_reason: null });
    const text = stream
      .filter((entry) => entry.event === "content_block_delta")
      .map((entry) => entry.data.delta.text);
    expect(text.join("")).toBe("Hello there, friend.");
    expect(stream.at(-2)!.data).toMatchObject({
      delta: { stop_reason: "end_turn" },
      usage: { output_tokens: text.length },
    });
  });

  it("streams tool input as input_json_delta", async () => {
    const stream = await events(
      await messages({ stream: true, messages: [{ role: "user", content: "weather?" }], tools }),
    );
    const start = stream.find((entry) => entry.event === "content_block_start")!;
    expect(start.data.content_block).toMatchObject({ type: "tool_use", name: "get_weather", input: {} });
    const json = stream
      .filter((entry) => entry.event === "content_block_delta")
      .map((entry) => entry.data.delta.partial_json)
      .join("");
    expect(JSON.parse(json)).toEqual({ city: "Rome" });
    expect(stream.at(-2)!.data.delta.stop_reason).toBe("tool_use");
  });

  it("refuses requests the way the API does", async () => {
    const noKey = await messages({}, { "x-api-key": "" });
    expect(noKey.status).toBe(401);
    expect(await json(noKey)).toEqual({
      type: "error",
      error: { type: "authentication_error", message: "x-api-key header is required" },
    });
    expect((await messages({}, { "x-api-key": "sk-wrong" })).status).toBe(401);
    expect((await messages({}, { "anthropic-version": "" })).status).toBe(400);
    const extra = await json(await messages({ logprobs: true }));
    expect(extra.error).toEqual({
      type: "invalid_request_error",
      message: "logprobs: Extra inputs are not permitted",
    });
    const missing = await messages({ max_tokens: undefined });
    expect(missing.status).toBe(400);
    expect((await json(missing)).error.message).toBe("max_tokens: Field required");
    const unknown = await messages({ model: "claude-nope" });
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error.type).toBe("not_found_error");
  });
});
