import type { StrataError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import type { ChatCompletionRequest } from "../src/openai/request-schemas.js";
import { toAnthropicRequest } from "../src/providers/anthropic/anthropic-request.js";
import { toOpenAiCompletion, toOpenAiError } from "../src/providers/anthropic/anthropic-response.js";
import { anthropicToOpenAiChunks } from "../src/providers/anthropic/anthropic-stream.js";

const options = { model: "claude-sonnet-4", defaultMaxTokens: 1024 };
const translate = (request: Partial<ChatCompletionRequest>) =>
  toAnthropicRequest(
    { model: "alias", messages: [{ role: "user", content: "hi" }], ...request } as ChatCompletionRequest,
    options,
  );

function refusal(request: Partial<ChatCompletionRequest>): StrataError {
  try {
    translate(request);
  } catch (error) {
    return error as StrataError;
  }
  throw new Error("expected a refusal");
}

async function* from(events: unknown[]): AsyncGenerator<string> {
  for (const event of events) yield JSON.stringify(event);
}

async function collect(events: unknown[]): Promise<any[]> {
  const out: any[] = [];
  for await (const data of anthropicToOpenAiChunks(from(events), 1_700_000_000))
    out.push(data === "[DONE]" ? data : JSON.parse(data));
  return out;
}

describe("OpenAI chat → Anthropic Messages", () => {
  it("moves system prompts to the top, merges turns and maps the sampling fields", () => {
    const body = translate({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: "Answer in French." },
        { role: "user", content: "one" },
        {
          role: "user",
          content: [
            { type: "text", text: "two" },
            { type: "image_url", image_url: { url: "data:image/png;base64,QUJD" } },
          ],
        },
      ],
      max_completion_tokens: 50,
      stop: "END",
      temperature: 0.2,
      top_p: 0.9,
      user: "user-7",
      seed: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(body).toEqual({
      model: "claude-sonnet-4",
      max_tokens: 50,
      system: "Be brief.\n\nAnswer in French.",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "one" },
            { type: "text", text: "two" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "QUJD" } },
          ],
        },
      ],
      stop_sequences: ["END"],
      temperature: 0.2,
      top_p: 0.9,
      metadata: { user_id: "user-7" },
      stream: true,
    });
  });

  it("translates tools, tool choice, tool calls and tool results", () => {
    const body = translate({
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "toolu_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "toolu_1", content: "sunny" },
      ],
      tools: [
        {
          type: "function",
          function: { name: "get_weather", description: "Weather", parameters: { type: "object" } },
        },
      ],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
    } as Partial<ChatCompletionRequest>);
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "weather?" }] },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "sunny" }] },
    ]);
    expect(body.tools).toEqual([
      { name: "get_weather", description: "Weather", input_schema: { type: "object" } },
    ]);
    expect(body.tool_choice).toEqual({ type: "tool", name: "get_weather", disable_parallel_tool_use: true });
    const required = translate({
      tools: [{ type: "function", function: { name: "f" } }],
      tool_choice: "required",
    } as Partial<ChatCompletionRequest>);
    expect(required.tool_choice).toEqual({ type: "any" });
  });

  it("maps a JSON schema response format to structured output", () => {
    const schema = { type: "object", properties: { a: { type: "string" } } };
    const body = translate({
      response_format: { type: "json_schema", json_schema: { name: "x", schema } },
    } as Partial<ChatCompletionRequest>);
    expect(body.output_config).toEqual({ format: { type: "json_schema", schema } });
  });

  it("refuses what the Messages API cannot do, naming the field", () => {
    expect(refusal({ logprobs: true }).param).toBe("logprobs");
    expect(refusal({ n: 2 }).param).toBe("n");
    expect(refusal({ temperature: 1.5 }).param).toBe("temperature");
    expect(
      refusal({ response_format: { type: "json_object" } } as Partial<ChatCompletionRequest>).param,
    ).toBe("response_format");
    expect(refusal({ presence_penalty: 0.5 }).httpStatus).toBe(400);
    const badArguments = refusal({
      messages: [
        { role: "user", content: "x" },
        {
          role: "assistant",
          tool_calls: [{ id: "1", type: "function", function: { name: "f", arguments: "{" } }],
        },
      ],
    } as Partial<ChatCompletionRequest>);
    expect(badArguments.param).toBe("messages[1].tool_calls[0].function.arguments");
  });
});

describe("Anthropic Messages → OpenAI chat", () => {
  it("turns a message into a chat completion with tool calls, finish reason and usage", () => {
    const completion = toOpenAiCompletion(
      {
        id: "msg_1",
        model: "claude-sonnet-4",
        content: [
          { type: "text", text: "Let me check." },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
        ],
        stop_reason: "tool_use",
        usage: {
          input_tokens: 10,
          output_tokens: 7,
          cache_creation_input_tokens: 5,
          cache_read_input_tokens: 100,
        },
      },
      1_700_000_000,
    ) as any;
    expect(completion.choices[0]).toEqual({
      index: 0,
      message: {
        role: "assistant",
        content: "Let me check.",
        refusal: null,
        tool_calls: [
          {
            id: "toolu_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      logprobs: null,
      finish_reason: "tool_calls",
    });
    expect(completion.usage).toEqual({
      prompt_tokens: 115,
      completion_tokens: 7,
      total_tokens: 122,
      prompt_tokens_details: { cached_tokens: 100 },
    });
  });

  it("maps stop reasons", () => {
    const finish = (stop_reason: string) =>
      (toOpenAiCompletion({ id: "m", model: "c", content: [], stop_reason, usage: {} }, 0) as any).choices[0]
        .finish_reason;
    expect([finish("end_turn"), finish("max_tokens"), finish("stop_sequence"), finish("refusal")]).toEqual([
      "stop",
      "length",
      "stop",
      "content_filter",
    ]);
  });

  it("turns Anthropic errors into OpenAI error bodies", () => {
    const body = JSON.parse(
      toOpenAiError(
        400,
        Buffer.from(
          '{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too big"}}',
        ),
      ).toString(),
    );
    expect(body).toEqual({
      error: {
        message: "max_tokens: too big",
        type: "invalid_request_error",
        param: null,
        code: "invalid_request_error",
      },
    });
  });

  it("translates a streamed message with text and a tool call into OpenAI chunks", async () => {
    const chunks = await collect([
      {
        type: "message_start",
        message: {
          id: "msg_1",
          model: "claude",
          usage: { input_tokens: 20, output_tokens: 1, cache_read_input_tokens: 4 },
        },
      },
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      { type: "ping" },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Checking" } },
      { type: "content_block_stop", index: 0 },
      {
        type: "content_block_start",
        index: 1,
        content_block: { type: "tool_use", id: "toolu_9", name: "get_weather", input: {} },
      },
      {
        type: "content_block_delta",
        index: 1,
        delta: { type: "input_json_delta", partial_json: '{"city":' },
      },
      { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '"Oslo"}' } },
      { type: "content_block_stop", index: 1 },
      {
        type: "message_delta",
        delta: { stop_reason: "tool_use", stop_sequence: null },
        usage: { output_tokens: 15 },
      },
      { type: "message_stop" },
    ]);
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    expect(chunks[1].choices[0].delta).toEqual({ content: "Checking" });
    expect(chunks[2].choices[0].delta.tool_calls).toEqual([
      { index: 0, id: "toolu_9", type: "function", function: { name: "get_weather", arguments: "" } },
    ]);
    expect(chunks[3].choices[0].delta.tool_calls).toEqual([
      { index: 0, function: { arguments: '{"city":' } },
    ]);
    expect(chunks.at(-3).choices[0].finish_reason).toBe("tool_calls");
    expect(chunks.at(-2).usage).toEqual({
      prompt_tokens: 24,
      completion_tokens: 15,
      total_tokens: 39,
      prompt_tokens_details: { cached_tokens: 4 },
    });
    expect(chunks.at(-1)).toBe("[DONE]");
    expect(
      chunks.every(
        (chunk) => chunk === "[DONE]" || (chunk.id === "msg_1" && chunk.object === "chat.completion.chunk"),
      ),
    ).toBe(true);
  });

  it("fails on an error event and on a stream cut before message_stop", async () => {
    await expect(
      collect([
        { type: "message_start", message: { id: "m", model: "c", usage: {} } },
        { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      ]),
    ).rejects.toMatchObject({ code: "upstream_error", message: expect.stringMatching(/overloaded_error/) });
    await expect(
      collect([{ type: "message_start", message: { id: "m", model: "c", usage: {} } }]),
    ).rejects.toMatchObject({
      code: "upstream_error",
    });
  });
});
