import { renderChatTemplate, type StrataError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import type { ChatCompletionRequest, CompletionRequest } from "../src/openai/request-schemas.js";
import { renderTgiPrompt } from "../src/providers/tgi/tgi-chat-template.js";
import { toTgiRequest } from "../src/providers/tgi/tgi-request.js";
import { type TgiTranslation, tgiToOpenAiChunks, toOpenAiBody } from "../src/providers/tgi/tgi-response.js";

const chat = (request: Partial<ChatCompletionRequest>) =>
  toTgiRequest(
    "chat.completions",
    { model: "m", messages: [{ role: "user", content: "hi" }], ...request } as ChatCompletionRequest,
    "chatml",
  );

function refusal(request: Partial<ChatCompletionRequest>): StrataError {
  try {
    chat(request);
  } catch (error) {
    return error as StrataError;
  }
  throw new Error("expected a refusal");
}

const context: TgiTranslation = {
  operation: "chat.completions",
  model: "tgi-model",
  logprobs: true,
  created: 1,
};

describe("OpenAI → TGI generate", () => {
  it("renders the chat template and maps sampling the way TGI's own chat route does", () => {
    const request = chat({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hi" },
      ],
      max_tokens: 20,
      temperature: 0.7,
      top_p: 0.9,
      stop: ["\n\n"],
      seed: 42,
      frequency_penalty: 0.5,
      logprobs: true,
      top_logprobs: 3,
      response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } },
      top_k: 40,
    } as Partial<ChatCompletionRequest>);
    expect(request.inputs).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    );
    expect(request.parameters).toEqual({
      details: true,
      do_sample: true,
      max_new_tokens: 20,
      temperature: 0.7,
      top_p: 0.9,
      stop: ["\n\n"],
      seed: 42,
      frequency_penalty: 0.5,
      top_n_tokens: 3,
      grammar: { type: "json", value: { type: "object" } },
      top_k: 40,
    });
  });

  it("is greedy at temperature 0 and leaves top_p 1 out", () => {
    const { parameters } = chat({ temperature: 0, top_p: 1 });
    expect(parameters).toEqual({ details: true, do_sample: false });
  });

  it("renders llama3 and mistral templates", () => {
    const messages = [
      { role: "system" as const, content: "S" },
      { role: "user" as const, content: "U" },
    ];
    expect(renderTgiPrompt("llama3", messages)).toBe(
      "<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    );
    expect(renderTgiPrompt("mistral", messages)).toBe("[INST] S\n\nU [/INST]");
  });

  it("renders the strata template byte for byte as the engine does, without its BOS", () => {
    const conversations: ChatCompletionRequest["messages"][] = [
      [{ role: "user", content: "hi" }],
      [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "one" },
            { type: "text", text: "two" },
          ],
        },
        { role: "assistant", content: "ok" },
        { role: "user", content: "" },
      ] as ChatCompletionRequest["messages"],
    ];
    for (const messages of conversations)
      expect(renderTgiPrompt("strata", messages)).toBe(renderChatTemplate(messages).slice("<s>".length));
    expect(renderTgiPrompt("strata", conversations[1] as ChatCompletionRequest["messages"])).toBe(
      "<|system|>\nBe brief.<|end|>\n<|user|>\none\ntwo<|end|>\n<|assistant|>\nok<|end|>\n<|user|>\n<|end|>\n<|assistant|>\n",
    );
  });

  it("takes a legacy completion's prompt as inputs", () => {
    const request = toTgiRequest(
      "completions",
      { model: "m", prompt: ["Once"], max_tokens: 3, logprobs: 2 } as CompletionRequest,
      "chatml",
    );
    expect(request).toEqual({
      inputs: "Once",
      parameters: { details: true, do_sample: true, max_new_tokens: 3, top_n_tokens: 2 },
    });
  });

  it("refuses what the generate API cannot do", () => {
    expect(refusal({ n: 3 }).param).toBe("n");
    expect(
      refusal({ tools: [{ type: "function", function: { name: "f" } }] } as Partial<ChatCompletionRequest>)
        .param,
    ).toBe("tools");
    expect(refusal({ presence_penalty: 1 }).param).toBe("presence_penalty");
    expect(
      refusal({
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }],
      } as Partial<ChatCompletionRequest>).param,
    ).toBe("messages[0].content[0].type");
  });
});

describe("TGI → OpenAI", () => {
  const tokens = [
    { id: 5, text: "Hel", logprob: -0.1, special: false },
    { id: 6, text: "lo", logprob: -0.2, special: false },
    { id: 2, text: "</s>", logprob: -0.01, special: true },
  ];

  it("builds a chat completion with usage and logprobs", () => {
    const body = toOpenAiBody(
      {
        generated_text: "Hello",
        details: {
          finish_reason: "eos_token",
          generated_tokens: 3,
          tokens,
          top_tokens: [[{ id: 9, text: "Hi", logprob: -1, special: false }]],
        },
      },
      12,
      context,
    ) as any;
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0].message.content).toBe("Hello");
    expect(body.choices[0].finish_reason).toBe("stop");
    expect(body.choices[0].logprobs.content[0]).toEqual({
      token: "Hel",
      logprob: -0.1,
      bytes: [72, 101, 108],
      top_logprobs: [{ token: "Hi", logprob: -1, bytes: [72, 105] }],
    });
    expect(body.choices[0].logprobs.content).toHaveLength(2);
    expect(body.usage).toEqual({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
  });

  it("builds legacy completion logprobs", () => {
    const body = toOpenAiBody(
      {
        generated_text: "Hello",
        details: { finish_reason: "length", generated_tokens: 2, tokens: tokens.slice(0, 2) },
      },
      4,
      { ...context, operation: "completions" },
    ) as any;
    expect(body.choices[0]).toMatchObject({
      text: "Hello",
      finish_reason: "length",
      logprobs: { tokens: ["Hel", "lo"], token_logprobs: [-0.1, -0.2], text_offset: [0, 3] },
    });
  });

  it("streams chunks, a finish chunk with usage after it, and [DONE]", async () => {
    async function* events() {
      yield JSON.stringify({ index: 1, token: tokens[0], generated_text: null, details: null });
      yield JSON.stringify({ index: 2, token: tokens[1], generated_text: null, details: null });
      yield JSON.stringify({
        index: 3,
        token: tokens[2],
        generated_text: "Hello",
        details: { finish_reason: "length", generated_tokens: 3, input_length: 9 },
      });
    }
    const out: any[] = [];
    for await (const data of tgiToOpenAiChunks(events(), { ...context, logprobs: false }))
      out.push(data === "[DONE]" ? data : JSON.parse(data));
    expect(out[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    expect(out.slice(1, 3).map((chunk) => chunk.choices[0].delta.content)).toEqual(["Hel", "lo"]);
    expect(out[3].choices[0]).toMatchObject({ delta: {}, finish_reason: "length" });
    expect(out[4]).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 3 } });
    expect(out[5]).toBe("[DONE]");
  });

  it("fails on an error event", async () => {
    async function* events() {
      yield JSON.stringify({ error: "Request failed during generation", error_type: "generation" });
    }
    const drain = async () => {
      for await (const _ of tgiToOpenAiChunks(events(), context)) {
        // draining
      }
    };
    await expect(drain()).rejects.toMatchObject({
      code: "upstream_error",
      message: expect.stringMatching(/generation/),
    });
  });
});
