import { describe, expect, it } from "vitest";
import { isPlainRequest } from "../src/openai/plain-request.js";
import {
  chatCompletionRequestSchema,
  completionRequestSchema,
  type Operation,
  validateRequest,
} from "../src/openai/request-schemas.js";

const schemas = { "chat.completions": chatCompletionRequestSchema, completions: completionRequestSchema };
const keys = (operation: Operation) => new Set(Object.keys(schemas[operation].shape));
const plain = (operation: Operation, body: Record<string, unknown>) =>
  isPlainRequest(operation, body, keys(operation));

const chat = (extra: Record<string, unknown> = {}) => ({
  model: "m",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "hi", name: "ann" },
    { role: "assistant", content: "" },
  ],
  ...extra,
});

describe("the hand-checked common request", () => {
  const accepted: [Operation, Record<string, unknown>][] = [
    ["chat.completions", chat()],
    [
      "chat.completions",
      chat({
        max_tokens: 16,
        max_completion_tokens: null,
        temperature: 0,
        top_p: 1,
        n: 1,
        stop: ["\n", "end"],
        seed: -7,
        presence_penalty: -2,
        frequency_penalty: 2,
        user: "u1",
        stream: true,
        stream_options: { include_usage: true },
        // engine extensions pass through untouched, as the schema lets them
        top_k: 5,
        ignore_eos: false,
      }),
    ],
    ["completions", { model: "m", prompt: "Once", max_tokens: 3, stop: "." }],
  ];

  it.each(accepted)("takes a %s request the schema accepts, unchanged", (operation, body) => {
    expect(plain(operation, body)).toBe(true);
    // Whatever the shortcut lets through, the schema accepts and leaves equal.
    expect(schemas[operation].parse(body)).toEqual(body);
    expect(validateRequest(operation, body)).toEqual(body);
  });

  const leftToSchema: [string, Operation, Record<string, unknown>][] = [
    ["a missing model", "chat.completions", { messages: [{ role: "user", content: "x" }] }],
    ["an empty model", "chat.completions", chat({ model: "" })],
    ["no messages", "chat.completions", chat({ messages: [] })],
    ["a tool message", "chat.completions", chat({ messages: [{ role: "tool", content: "x" }] })],
    ["content parts", "chat.completions", chat({ messages: [{ role: "user", content: [] }] })],
    ["a null content", "chat.completions", chat({ messages: [{ role: "assistant", content: null }] })],
    ["an unknown role", "chat.completions", chat({ messages: [{ role: "robot", content: "x" }] })],
    [
      "tool calls",
      "chat.completions",
      chat({ messages: [{ role: "assistant", content: "", tool_calls: [] }] }),
    ],
    ["a temperature out of range", "chat.completions", chat({ temperature: 2.5 })],
    ["a fractional max_tokens", "chat.completions", chat({ max_tokens: 1.5 })],
    ["max_tokens 0", "chat.completions", chat({ max_tokens: 0 })],
    ["n above 128", "chat.completions", chat({ n: 129 })],
    ["five stop sequences", "chat.completions", chat({ stop: ["a", "b", "c", "d", "e"] })],
    ["stream_options without stream", "chat.completions", chat({ stream_options: { include_usage: true } })],
    ["extra stream_options", "chat.completions", chat({ stream: true, stream_options: { x: 1 } })],
    ["tools", "chat.completions", chat({ tools: [] })],
    ["logit_bias", "chat.completions", chat({ logit_bias: { "1": 2 } })],
    ["a string seed", "chat.completions", chat({ seed: "1" })],
    ["an undefined field", "chat.completions", chat({ user: undefined })],
    ["a prompt of token ids", "completions", { model: "m", prompt: [1, 2] }],
    ["best_of", "completions", { model: "m", prompt: "x", best_of: 2 }],
  ];

  it.each(leftToSchema)("leaves %s to the schema", (_what, operation, body) => {
    expect(plain(operation, body)).toBe(false);
  });

  it("still words the schema's errors for requests it does not take", () => {
    expect(() => validateRequest("chat.completions", chat({ temperature: 3 }))).toThrow(
      expect.objectContaining({ param: "temperature" }),
    );
    expect(() =>
      validateRequest("chat.completions", chat({ stream_options: { include_usage: true } })),
    ).toThrow(expect.objectContaining({ param: "stream_options" }));
    expect(() => validateRequest("completions", { model: "m" })).toThrow(
      expect.objectContaining({ message: "Missing required parameter: 'prompt'." }),
    );
  });
});
