import { describe, expect, it } from "vitest";
import { usageOfBody } from "../src/pipeline/usage-counts.js";

const body = (json: unknown) => Buffer.from(typeof json === "string" ? json : JSON.stringify(json));

describe("usageOfBody", () => {
  it("reads the usage an engine puts after the choices", () => {
    const answer = {
      id: "chatcmpl-1",
      choices: [
        { index: 0, message: { role: "assistant", content: "Hello {world}" }, finish_reason: "length" },
      ],
      usage: {
        prompt_tokens: 8,
        total_tokens: 24,
        completion_tokens: 16,
        prompt_tokens_details: { cached_tokens: 4 },
      },
      prompt_logprobs: null,
      kv_transfer_params: null,
    };
    expect(usageOfBody(body(answer))).toEqual({ promptTokens: 8, completionTokens: 16, cachedTokens: 4 });
  });

  it("is not fooled by text that looks like usage, or by braces inside strings", () => {
    const answer = {
      choices: [{ message: { content: 'she wrote "usage":{"prompt_tokens":999} and }}}' } }],
      usage: { prompt_tokens: 1, completion_tokens: 2, note: "a } in a string" },
    };
    expect(usageOfBody(body(answer))).toEqual({ promptTokens: 1, completionTokens: 2, cachedTokens: 0 });
    const spaced = '{"choices":[],"usage" :  { "prompt_tokens" : 3 , "completion_tokens": 4 }}';
    expect(usageOfBody(body(spaced))).toEqual({ promptTokens: 3, completionTokens: 4, cachedTokens: 0 });
  });

  it("falls back to the whole body, and gives nothing when there is no usage", () => {
    expect(usageOfBody(body({ usage: null, choices: [] }))).toBeUndefined();
    expect(usageOfBody(body({ choices: [] }))).toBeUndefined();
    expect(usageOfBody(body('{"usage": {"prompt_tokens": 2'))).toBeUndefined();
    expect(usageOfBody(body("not json"))).toBeUndefined();
    // a later key named usage that is not the usage object: the whole body decides
    const nested = { usage: { prompt_tokens: 5, completion_tokens: 6 }, extra: { usage: { kind: "x" } } };
    expect(usageOfBody(body(nested))).toEqual({ promptTokens: 5, completionTokens: 6, cachedTokens: 0 });
  });
});
