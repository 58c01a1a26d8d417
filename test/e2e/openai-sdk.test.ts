import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  OpenAI,
  RateLimitError,
} from "../../services/gateway/test/support/openai-sdk.js";
import { startTestStack, type TestStack } from "../support/local-stack.js";

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const scriptRules = [
  { match: "weather in Oslo", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] },
];
const messages = (content: string) => [{ role: "user" as const, content }];

/** The official openai SDK, unchanged but for its base URL, against the gateway. */
describe("the openai npm SDK against the gateway", () => {
  let stack: TestStack;
  let claude: EngineSim;
  let client: OpenAI;

  beforeAll(async () => {
    claude = await startEngineSim({
      host: "127.0.0.1",
      port: 0,
      logLevel: "silent",
      api: "anthropic",
      model: "sim-claude",
      apiKey: "sk-ant-sdk",
      // A hosted model's context is large: the default max_tokens (4096) plus a prompt must fit.
      maxModelLen: 32_768,
      kvCapacityBlocks: 4_096,
      decodeMsPerToken: 1,
      scriptRules,
    });
    stack = await startTestStack({
      engine: { decodeMsPerToken: 1, scriptRules },
      gateway: {
        http: { host: "127.0.0.1", port: 0, maxBodyBytes: 64 * 1024 },
        // A key may spend 50k tokens a minute: ordinary requests pass, a huge max_tokens never fits.
        limits: { key: { tokensPerMinute: 50_000 } },
        providers: {
          hosted: [{ name: "claude", kind: "anthropic", baseUrl: `${claude.url}/v1`, apiKey: "sk-ant-sdk" }],
          aliases: { "best-chat": ["claude:sim-claude", "engine:strata-sim"] },
        },
      },
    });
    client = new OpenAI({ apiKey: stack.apiKey, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await claude?.close();
  });

  it("creates a chat completion", async () => {
    const completion = await client.chat.completions.create({
      model: "strata-sim",
      messages: messages("Hello from the SDK"),
      max_tokens: 8,
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("streams a chat completion, usage last", async () => {
    const stream = await client.chat.completions.create({
      model: "strata-sim",
      messages: messages("Stream from the SDK"),
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it("creates and streams legacy completions", async () => {
    const completion = await client.completions.create({
      model: "strata-sim",
      prompt: "Once upon",
      max_tokens: 4,
    });
    expect(completion.choices[0]?.text.length).toBeGreaterThan(0);
    const stream = await client.completions.create({
      model: "strata-sim",
      prompt: "Once upon",
      max_tokens: 4,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text.length).toBeGreaterThan(0);
  });

  it("calls tools, and the SDK's stream helper assembles streamed tool calls", async () => {
    const completion = await client.chat.completions.create({
      model: "strata-sim",
      messages: messages("What is the weather in Oslo?"),
      tools: [weatherTool],
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.type === "function" && JSON.parse(call.function.arguments)).toEqual({ city: "Oslo" });

    const runner = client.chat.completions.stream({
      model: "strata-sim",
      messages: messages("What is the weather in Oslo?"),
      tools: [weatherTool],
    });
    const final = await runner.finalChatCompletion();
    const streamed = final.choices[0]?.message.tool_calls?.[0];
    expect(streamed?.type === "function" && streamed.function.name).toBe("get_weather");
    expect(streamed?.type === "function" && JSON.parse(streamed.function.arguments)).toEqual({
      city: "Oslo",
    });
  });

  it("answers in JSON mode and with a JSON schema", async () => {
    const object = await client.chat.completions.create({
      model: "strata-sim",
      messages: messages("Give me JSON"),
      response_format: { type: "json_object" },
      max_tokens: 100,
    });
    expect(typeof JSON.parse(object.choices[0]?.message.content ?? "")).toBe("object");
    const schema = await client.chat.completions.create({
      model: "strata-sim",
      messages: messages("A city, please"),
      max_tokens: 100,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "city",
          schema: {
            type: "object",
            properties: { name: { type: "string" }, population: { type: "integer" } },
          },
        },
      },
    });
    const city = JSON.parse(schema.choices[0]?.message.content ?? "");
    expect(typeof city.name).toBe("string");
    expect(Number.isInteger(city.population)).toBe(true);
  });

  it("speaks to Anthropic through a model alias: stream helper, tools and all", async () => {
    const runner = client.chat.completions.stream({
      model: "best-chat",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "What is the weather in Oslo?" },
      ],
      tools: [weatherTool],
      tool_choice: "required",
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.type === "function" && JSON.parse(call.function.arguments)).toEqual({ city: "Oslo" });

    const { data, response } = await client.chat.completions
      .create({ model: "best-chat", messages: messages("Hi Claude"), max_tokens: 8 })
      .withResponse();
    expect(data.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(response.headers.get("x-strata-route")).toBe("provider=claude; model=sim-claude");
  });

  it("lists the gateway's model aliases beside the router's models", async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(["strata-sim", "best-chat"]));
    expect((await client.models.retrieve("best-chat")).id).toBe("best-chat");
  });

  it("raises AuthenticationError for a bad key", async () => {
    const stranger = new OpenAI({
      apiKey: "sk-strata-not-a-key",
      baseURL: `${stack.gatewayUrl}/v1`,
      maxRetries: 0,
    });
    const error = await stranger.chat.completions
      .create({ model: "strata-sim", messages: messages("hi") })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).status).toBe(401);
  });

  it("raises NotFoundError for an unknown model", async () => {
    const error = await client.chat.completions
      .create({ model: "no-such-model", messages: messages("hi") })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe("model_not_found");
  });

  it("raises BadRequestError naming the parameter", async () => {
    const error = await client.chat.completions
      .create({ model: "strata-sim", messages: messages("hi"), temperature: 5 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).param).toBe("temperature");
    const unsupported = await client.chat.completions
      .create({ model: "claude:sim-claude", messages: messages("hi"), logprobs: true })
      .catch((caught: unknown) => caught);
    expect(unsupported).toBeInstanceOf(BadRequestError);
    expect((unsupported as BadRequestError).param).toBe("logprobs");
  });

  it("raises RateLimitError when the key's limit refuses the request", async () => {
    const error = await client.chat.completions
      .create({ model: "strata-sim", messages: messages("hi"), max_tokens: 100_000 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).status).toBe(429);
    expect((error as RateLimitError).headers?.get("x-should-retry")).toBe("false");
  });
});
