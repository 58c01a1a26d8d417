import type { StrataError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { fieldPath, validateRequest } from "../src/openai/request-schemas.js";

function failure(operation: "chat.completions" | "completions", body: unknown): StrataError {
  try {
    validateRequest(operation, body);
  } catch (error) {
    return error as StrataError;
  }
  throw new Error("expected a validation error");
}

describe("validateRequest", () => {
  it("accepts a chat request and keeps engine-specific extensions", () => {
    const request = validateRequest("chat.completions", {
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      top_k: 5,
      stream: true,
    });
    expect(request).toMatchObject({ model: "m", top_k: 5, stream: true });
  });

  it("names a missing required field", () => {
    const error = failure("chat.completions", { model: "m" });
    expect(error.code).toBe("invalid_request");
    expect(error.param).toBe("messages");
    expect(error.message).toBe("Missing required parameter: 'messages'.");
  });

  it("names a nested bad field", () => {
    const error = failure("chat.completions", {
      model: "m",
      messages: [
        { role: "user", content: "x" },
        { role: "robot", content: "y" },
      ],
    });
    expect(error.param).toBe("messages[1].role");
    expect(error.httpStatus).toBe(400);
  });

  it("checks ranges", () => {
    expect(
      failure("chat.completions", { model: "m", messages: [{ role: "user", content: "x" }], temperature: 3 })
        .param,
    ).toBe("temperature");
    expect(failure("completions", { model: "m", prompt: "x", max_tokens: 0 }).param).toBe("max_tokens");
    expect(failure("completions", { model: "m" }).param).toBe("prompt");
  });

  it("refuses a body that is not an object", () => {
    expect(failure("completions", [1, 2]).message).toMatch(/JSON object/);
  });

  it("accepts everything OpenAI's chat API accepts: tools, tool calls, formats, logprobs, n, seed, user", () => {
    const body = {
      model: "m",
      messages: [
        { role: "developer", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "hi" },
            { type: "image_url", image_url: { url: "https://x/y.png" } },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "call_1", content: "42" },
      ],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" }, strict: true } }],
      tool_choice: { type: "function", function: { name: "f" } },
      parallel_tool_calls: false,
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema: { type: "object" }, strict: true },
      },
      logprobs: true,
      top_logprobs: 3,
      n: 2,
      stop: ["\n"],
      seed: 7,
      user: "u-1",
      reasoning_effort: "low",
    };
    expect(validateRequest("chat.completions", body)).toEqual(body);
  });

  it("refuses what OpenAI refuses, naming the field", () => {
    const chat = (extra: Record<string, unknown>) =>
      failure("chat.completions", { model: "m", messages: [{ role: "user", content: "x" }], ...extra });
    expect(chat({ top_logprobs: 2 }).param).toBe("top_logprobs");
    expect(chat({ tool_choice: "auto" }).param).toBe("tool_choice");
    expect(chat({ stream_options: { include_usage: true } }).param).toBe("stream_options");
    expect(chat({ tools: [{ type: "function", function: { name: "has space" } }] }).param).toBe(
      "tools[0].function.name",
    );
    expect(chat({ tools: [{ type: "function" }] }).param).toBe("tools[0].function");
    expect(chat({ response_format: { type: "json_schema" } }).param).toBe("response_format.json_schema");
    expect(chat({ logit_bias: { "50256": -101 } }).param).toBe("logit_bias.50256");
    expect(chat({ stop: ["a", "b", "c", "d", "e"] }).param).toBe("stop");
    const tool = failure("chat.completions", { model: "m", messages: [{ role: "tool", content: "x" }] });
    expect(tool.param).toBe("messages[0].tool_call_id");
    expect(tool.message).toBe("Missing required parameter: 'messages[0].tool_call_id'.");
    const part = failure("chat.completions", {
      model: "m",
      messages: [{ role: "user", content: [{ type: "text" }] }],
    });
    expect(part.param).toBe("messages[0].content[0].text");
  });

  it("formats paths like OpenAI", () => {
    expect(fieldPath(["messages", 0, "content", 2, "type"])).toBe("messages[0].content[2].type");
  });
});
