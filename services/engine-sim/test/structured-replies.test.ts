import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EngineSim, startEngineSim } from "../src/index.js";
import { json, post, sseData } from "./helpers.js";

let sim: EngineSim;
const weather = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } } },
  },
};
const lookup = {
  type: "function",
  function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } },
};

beforeAll(async () => {
  sim = await startEngineSim({
    port: 0,
    model: "m",
    timeScale: 0,
    logLevel: "silent",
    scriptRules: [
      {
        match: "two calls",
        toolCalls: [
          { name: "get_weather", arguments: { city: "Oslo" } },
          { name: "lookup", arguments: { q: "fjords" } },
        ],
      },
      { match: "scripted json", reply: '{"ok":true}' },
    ],
  });
});
afterAll(() => sim.close());

const chat = (content: string, extra: Record<string, unknown>) =>
  post(`${sim.url}/v1/chat/completions`, { model: "m", messages: [{ role: "user", content }], ...extra });

describe("tool calls and JSON mode (vLLM's OpenAI API)", () => {
  it("answers a scripted rule's tool calls when the request offers the tools", async () => {
    const body = await json(await chat("two calls please", { tools: [weather, lookup] }));
    expect(body.choices[0].finish_reason).toBe("tool_calls");
    expect(body.choices[0].message.content).toBeNull();
    expect(
      body.choices[0].message.tool_calls.map((call: any) => [
        call.type,
        call.function.name,
        JSON.parse(call.function.arguments),
      ]),
    ).toEqual([
      ["function", "get_weather", { city: "Oslo" }],
      ["function", "lookup", { q: "fjords" }],
    ]);
    expect(body.choices[0].message.tool_calls[0].id).toMatch(/^chatcmpl-tool-/);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
  });

  it("streams each call's header, then its arguments", async () => {
    const response = await chat("two calls please", { tools: [weather, lookup], stream: true });
    const chunks = sseData(await response.text())
      .slice(0, -1)
      .map((data) => JSON.parse(data));
    const deltas = chunks.flatMap((chunk) => chunk.choices[0].delta.tool_calls ?? []);
    const byCall = [0, 1].map((index) => deltas.filter((delta: any) => delta.index === index));
    expect(byCall[0]![0]).toMatchObject({
      id: expect.any(String),
      type: "function",
      function: { name: "get_weather", arguments: "" },
    });
    expect(JSON.parse(byCall[1]!.map((delta: any) => delta.function.arguments).join(""))).toEqual({
      q: "fjords",
    });
    expect(chunks.at(-1).choices[0].finish_reason).toBe("tool_calls");
  });

  it("calls the forced tool with arguments shaped by its schema, and none with tool_choice none", async () => {
    const forced = await json(
      await chat("hello", {
        tools: [weather, lookup],
        tool_choice: { type: "function", function: { name: "get_weather" } },
      }),
    );
    const args = JSON.parse(forced.choices[0].message.tool_calls[0].function.arguments);
    expect(typeof args.city).toBe("string");
    expect(Number.isInteger(args.days)).toBe(true);
    const none = await json(
      await chat("two calls please", { tools: [weather], tool_choice: "none", max_tokens: 5 }),
    );
    expect(none.choices[0].message.tool_calls).toEqual([]);
    const unknown = await chat("x", {
      tools: [weather],
      tool_choice: { type: "function", function: { name: "nope" } },
    });
    expect(unknown.status).toBe(400);
  });

  it("answers JSON mode with JSON, the scripted reply when it is JSON", async () => {
    const scripted = await json(await chat("scripted json", { response_format: { type: "json_object" } }));
    expect(scripted.choices[0].message.content).toBe('{"ok":true}');
    const free = await json(
      await chat("anything", { response_format: { type: "json_object" }, max_tokens: 100 }),
    );
    expect(typeof JSON.parse(free.choices[0].message.content).answer).toBe("string");
    const schema = {
      type: "object",
      properties: {
        tags: { type: "array", items: { type: "string" } },
        kind: { enum: ["a", "b"] },
        ok: { type: "boolean" },
      },
    };
    const shaped = await json(
      await chat("anything", {
        response_format: { type: "json_schema", json_schema: { name: "s", schema } },
        max_tokens: 100,
      }),
    );
    const value = JSON.parse(shaped.choices[0].message.content);
    expect(Array.isArray(value.tags)).toBe(true);
    expect(["a", "b"]).toContain(value.kind);
    expect(typeof value.ok).toBe("boolean");
  });
});
