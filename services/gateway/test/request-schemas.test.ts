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

  it("formats paths like OpenAI", () => {
    expect(fieldPath(["messages", 0, "content", 2, "type"])).toBe("messages[0].content[2].type");
  });
});
