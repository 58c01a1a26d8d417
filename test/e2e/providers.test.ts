import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { gatewayEventsV1, usageStream } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, readSse, startTestStack, type TestStack } from "../support/local-stack.js";

type UsageEvent = gatewayEventsV1.UsageEvent;

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const scriptRules = [
  {
    match: "weather in Paris",
    reply: "I will look it up.",
    toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }],
  },
];

describe("hosted providers, retries, circuit breaking and fallback chains", () => {
  let stack: TestStack;
  let oai: EngineSim;
  let tgi: EngineSim;
  let claude: EngineSim;
  let flaky: EngineSim;
  let keyDir: string;
  const usage = new Map<string, UsageEvent>();

  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), "strata-keys-"));
    await writeFile(join(keyDir, "oai-key"), "sk-oai-test\n");
    const sim = {
      host: "127.0.0.1",
      port: 0,
      logLevel: "silent",
      decodeMsPerToken: 1,
      randomOutputMaxTokens: 24,
    } as const;
    [oai, tgi, claude, flaky] = await Promise.all([
      startEngineSim({ ...sim, model: "sim-oai", apiKey: "sk-oai-test", scriptRules }),
      startEngineSim({ ...sim, model: "sim-tgi", api: "tgi" }),
      startEngineSim({ ...sim, model: "sim-claude", api: "anthropic", apiKey: "sk-ant-test", scriptRules }),
      startEngineSim({ ...sim, model: "flaky-model", faults: [{ status: 500 }] }),
    ]);
    const hosted = (name: string, extra: Record<string, unknown>) => ({ name, timeoutMs: 5_000, ...extra });
    stack = await startTestStack({
      extraEndpoints: [{ id: "flaky-0", url: flaky.url, model: "flaky-model" }],
      router: { models: { tiers: { "flaky-tier": { model: "flaky-model", fallbacks: ["strata-sim"] } } } },
      gateway: {
        http: { host: "127.0.0.1", port: 0, maxBodyBytes: 64 * 1024 },
        providers: {
          hosted: [
            hosted("oai", { kind: "openai", baseUrl: `${oai.url}/v1`, apiKeyFile: join(keyDir, "oai-key") }),
            hosted("oai-once", {
              kind: "openai",
              baseUrl: `${oai.url}/v1`,
              apiKeyFile: join(keyDir, "oai-key"),
              maxRetries: 0,
            }),
            hosted("oai-slow", {
              kind: "openai",
              baseUrl: `${oai.url}/v1`,
              apiKeyFile: join(keyDir, "oai-key"),
              maxRetries: 1,
              timeoutMs: 400,
            }),
            hosted("oai-nokey", { kind: "openai", baseUrl: `${oai.url}/v1`, maxRetries: 0 }),
            hosted("tgi", { kind: "tgi", baseUrl: tgi.url, chatTemplate: "strata" }),
            hosted("claude", {
              kind: "anthropic",
              baseUrl: `${claude.url}/v1`,
              apiKey: "sk-ant-test",
              maxRetries: 1,
            }),
            hosted("dead", { kind: "openai", baseUrl: "http://127.0.0.1:9/v1", maxRetries: 1 }),
          ],
          aliases: {
            "chat-best": ["oai:sim-oai", "claude:sim-claude", "engine:strata-sim"],
            "dead-then-oai": ["dead:x", "oai:sim-oai"],
            "slow-then-claude": ["oai-slow:sim-oai", "claude:sim-claude"],
            "nokey-then-claude": ["oai-nokey:sim-oai", "claude:sim-claude"],
          },
          retry: { initialBackoffMs: 5, maxBackoffMs: 20, maxRetryAfterMs: 3_000 },
          breaker: { consecutiveFailures: 3, openMs: 1_500, minimumRequests: 1_000 },
        },
      },
    });
    await stack.bus.consume(
      { stream: usageStream.name, durable: "providers-test-usage" },
      async (message) => {
        const event = fromBinary(gatewayEventsV1.UsageEventSchema, message.data);
        usage.set(event.requestId, event);
      },
    );
  });
  afterAll(async () => {
    await stack?.close();
    await Promise.all([oai, tgi, claude, flaky].map((sim) => sim?.close()));
    await rm(keyDir, { recursive: true, force: true });
  });

  const chat = (model: string, content: string, extra: Record<string, unknown> = {}) =>
    stack.post("/v1/chat/completions", {
      model,
      messages: [{ role: "user", content }],
      max_tokens: 12,
      ...extra,
    });
  const usageOf = (response: Response) =>
    eventually(async () => usage.get(response.headers.get("x-request-id") ?? ""));

  describe("adapters", () => {
    it("passes a chat completion to an OpenAI-compatible upstream with its API key", async () => {
      const response = await chat("oai:sim-oai", "hello openai");
      expect(response.status).toBe(200);
      expect(response.headers.get("x-strata-route")).toBe("provider=oai; model=sim-oai");
      const body = (await response.json()) as any;
      expect(body.model).toBe("sim-oai");
      expect(body.choices[0].message.content.length).toBeGreaterThan(0);
      const event = await usageOf(response);
      expect(event).toMatchObject({ provider: "oai", attempts: 1, fallbackIndex: 0, servedModel: "sim-oai" });
      expect(event.completionTokens).toBe(body.usage.completion_tokens);
    });

    it("passes tools through and returns the upstream's tool calls, streamed too", async () => {
      const plain = (await (
        await chat("oai:sim-oai", "weather in Paris?", { tools: [weatherTool] })
      ).json()) as any;
      expect(plain.choices[0].finish_reason).toBe("tool_calls");
      expect(plain.choices[0].message.tool_calls[0].function).toEqual({
        name: "get_weather",
        arguments: '{"city":"Paris"}',
      });
      const streamed = await chat("oai:sim-oai", "weather in Paris?", { tools: [weatherTool], stream: true });
      const chunks = (await readSse(streamed)).slice(0, -1).map((data) => JSON.parse(data));
      const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? []);
      expect(calls[0]).toMatchObject({ index: 0, type: "function", function: { name: "get_weather" } });
      expect(calls.map((call: any) => call.function.arguments).join("")).toBe('{"city":"Paris"}');
      expect(chunks.at(-1).choices[0].finish_reason).toBe("tool_calls");
    });

    it("passes response_format json_schema through", async () => {
      const schema = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } } };
      const response = await chat("oai:sim-oai", "describe a person", {
        max_tokens: 200,
        response_format: { type: "json_schema", json_schema: { name: "person", schema } },
      });
      const content = ((await response.json()) as any).choices[0].message.content;
      expect(Object.keys(JSON.parse(content)).sort()).toEqual(["age", "name"]);
    });

    it("translates chat to Anthropic's Messages API and back, tools and streaming included", async () => {
      const plain = await chat("claude:sim-claude", "hello claude", {
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "hello claude" },
        ],
      });
      expect(plain.status).toBe(200);
      const body = (await plain.json()) as any;
      expect(body.object).toBe("chat.completion");
      expect(body.choices[0].message.content.length).toBeGreaterThan(0);
      expect(body.usage.prompt_tokens).toBeGreaterThan(0);

      const tool = (await (
        await chat("claude:sim-claude", "weather in Paris?", {
          tools: [weatherTool],
          tool_choice: "required",
        })
      ).json()) as any;
      expect(tool.choices[0].finish_reason).toBe("tool_calls");
      expect(JSON.parse(tool.choices[0].message.tool_calls[0].function.arguments)).toEqual({ city: "Paris" });

      const streamed = await chat("claude:sim-claude", "weather in Paris?", {
        tools: [weatherTool],
        stream: true,
        stream_options: { include_usage: true },
      });
      const events = await readSse(streamed);
      expect(events.at(-1)).toBe("[DONE]");
      const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
      expect(chunks[0].choices[0].delta.role).toBe("assistant");
      const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? []);
      expect(calls[0]).toMatchObject({ type: "function", function: { name: "get_weather", arguments: "" } });
      expect(JSON.parse(calls.map((call: any) => call.function.arguments).join(""))).toEqual({
        city: "Paris",
      });
      expect(chunks.at(-2).choices[0].finish_reason).toBe("tool_calls");
      expect(chunks.at(-1).usage.completion_tokens).toBeGreaterThan(0);
    });

    it("reports Anthropic cache reads as cached prompt tokens", async () => {
      const messages = [
        { role: "system", content: "You are a meticulous assistant. ".repeat(30) },
        { role: "user", content: "cache me" },
      ];
      await chat("claude:sim-claude", "", { messages });
      const second = (await (await chat("claude:sim-claude", "", { messages })).json()) as any;
      expect(second.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
      expect(second.usage.prompt_tokens).toBeGreaterThan(second.usage.prompt_tokens_details.cached_tokens);
    });

    it("refuses what Anthropic cannot do with a 400 naming the field", async () => {
      const response = await chat("claude:sim-claude", "hi", { logprobs: true });
      expect(response.status).toBe(400);
      const error = ((await response.json()) as any).error;
      expect(error.param).toBe("logprobs");
      expect(error.message).toMatch(/not supported by Anthropic/);
    });

    it("translates to TGI's native generate API, logprobs and streaming included", async () => {
      const plain = await chat("tgi:sim-tgi", "hello tgi", { logprobs: true, top_logprobs: 2 });
      expect(plain.status).toBe(200);
      const body = (await plain.json()) as any;
      expect(body.choices[0].message.content.length).toBeGreaterThan(0);
      expect(body.choices[0].logprobs.content.length).toBe(body.usage.completion_tokens);
      expect(body.usage.prompt_tokens).toBeGreaterThan(0);

      const streamed = await chat("tgi:sim-tgi", "hello tgi", {
        stream: true,
        stream_options: { include_usage: true },
      });
      const events = await readSse(streamed);
      expect(events.at(-1)).toBe("[DONE]");
      const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
      const text = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("");
      expect(text.length).toBeGreaterThan(0);
      expect(chunks.at(-1).usage.prompt_tokens).toBeGreaterThan(0);

      const completion = await stack.post("/v1/completions", {
        model: "tgi:sim-tgi",
        prompt: "Once",
        max_tokens: 4,
      });
      expect(((await completion.json()) as any).choices[0].text.length).toBeGreaterThan(0);

      const tools = await chat("tgi:sim-tgi", "hi", { tools: [weatherTool] });
      expect(tools.status).toBe(400);
      expect(((await tools.json()) as any).error.param).toBe("tools");
    });
  });

  describe("retries", () => {
    it("retries a 500 until it succeeds and says how many attempts it took", async () => {
      oai.faults.set([{ match: "retry-500", status: 500, times: 2 }]);
      const response = await chat("oai:sim-oai", "retry-500 please");
      expect(response.status).toBe(200);
      expect(response.headers.get("x-strata-route")).toBe("provider=oai; model=sim-oai; attempts=3");
      const event = await usageOf(response);
      expect(event.attempts).toBe(3);
      expect(event.attemptErrors).toHaveLength(2);
      expect(event.attemptErrors[0]).toMatch(/HTTP 500/);
      oai.faults.clear();
    });

    it("waits out a 429's Retry-After before retrying", async () => {
      oai.faults.set([{ match: "retry-429", status: 429, retryAfterSeconds: 1, times: 1 }]);
      const started = Date.now();
      const response = await chat("oai:sim-oai", "retry-429 please");
      expect(response.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect((await usageOf(response)).attempts).toBe(2);
      oai.faults.clear();
    });

    it("does not retry a client error", async () => {
      const response = await chat("oai:sim-oai", "bad", { temperature: 1, top_p: 0 });
      expect(response.status).toBe(400);
      expect((await usageOf(response)).attempts).toBe(1);
    });

    it("retries a refused connection, then falls back to the next provider of the chain", async () => {
      const response = await chat("dead-then-oai", "anyone there?");
      expect(response.status).toBe(200);
      expect(response.headers.get("x-strata-route")).toBe(
        "provider=oai; model=sim-oai; attempts=3; fallback=1",
      );
      const event = await usageOf(response);
      expect(event).toMatchObject({ provider: "oai", attempts: 3, fallbackIndex: 1 });
      expect(event.attemptErrors.every((line) => line.startsWith("dead:x"))).toBe(true);
    });

    it("never retries once the stream has begun: the client gets an error event and it is recorded", async () => {
      oai.faults.set([{ match: "drop-me", dropAfterChunks: 3 }]);
      const before = oai.faults.applied;
      const response = await chat("oai:sim-oai", "drop-me mid-stream", { stream: true, max_tokens: 40 });
      expect(response.status).toBe(200);
      const events = await readSse(response);
      expect(events).not.toContain("[DONE]");
      const last = JSON.parse(events.at(-1)!);
      expect(last.error.code).toBe("upstream_error");
      expect(oai.faults.applied - before).toBe(1);
      const event = await usageOf(response);
      expect(event).toMatchObject({ status: 502, errorCode: "upstream_error", attempts: 1, provider: "oai" });
      oai.faults.clear();
    });

    it("moves on to the next provider when one does not answer in time", async () => {
      oai.faults.set([{ match: "slowpoke", hangMs: 5_000 }]);
      const response = await chat("slow-then-claude", "slowpoke here");
      expect(response.status).toBe(200);
      expect(response.headers.get("x-strata-route")).toBe(
        "provider=claude; model=sim-claude; attempts=3; fallback=1",
      );
      const event = await usageOf(response);
      expect(event.attemptErrors[0]).toMatch(/did not start answering within 400 ms/);
      oai.faults.clear();
    });

    it("treats a provider refusing the gateway's credentials as the provider's failure, not the client's", async () => {
      const response = await chat("nokey-then-claude", "who am I");
      expect(response.status).toBe(200);
      expect(response.headers.get("x-strata-route")).toMatch(/^provider=claude; .*fallback=1$/);
      expect((await usageOf(response)).attemptErrors[0]).toMatch(
        /refused the gateway's credentials \(HTTP 401\)/,
      );
    });

    it("respects the client's deadline across retries", async () => {
      oai.faults.set([{ match: "deadline", hangMs: 10_000 }]);
      const started = Date.now();
      const response = await stack.post(
        "/v1/chat/completions",
        { model: "oai:sim-oai", messages: [{ role: "user", content: "deadline test" }] },
        { "x-strata-timeout-ms": "700" },
      );
      expect(response.status).toBe(504);
      expect(((await response.json()) as any).error.code).toBe("timeout");
      // Without the deadline: 3 attempts of 5 s each.
      expect(Date.now() - started).toBeLessThan(4_000);
      oai.faults.clear();
    });

    it("refuses a malformed deadline", async () => {
      const response = await stack.post(
        "/v1/chat/completions",
        { model: "oai:sim-oai", messages: [{ role: "user", content: "x" }] },
        { "x-strata-timeout-ms": "soon" },
      );
      expect(response.status).toBe(400);
      expect(((await response.json()) as any).error.param).toBe("x-strata-timeout-ms");
    });
  });

  describe("fallback chains and circuit breaking", () => {
    it("tries the chain in order", async () => {
      const first = await chat("chat-best", "order-test one");
      expect(first.headers.get("x-strata-route")).toBe("provider=oai; model=sim-oai");
      oai.faults.set([{ match: "order-test", status: 503 }]);
      const second = await chat("chat-best", "order-test two");
      expect(second.status).toBe(200);
      expect(second.headers.get("x-strata-route")).toBe(
        "provider=claude; model=sim-claude; attempts=4; fallback=1",
      );
      // Three failures in a row opened oai's circuit: the next request skips it without calling it.
      claude.faults.set([{ match: "order-test", status: 529 }]);
      const oaiCalls = oai.faults.applied;
      const third = await chat("chat-best", "order-test three");
      expect(third.status).toBe(200);
      expect(third.headers.get("x-strata-route")).toMatch(
        /^endpoint=sim-\d; model=strata-sim; strategy=kv-aware; attempts=4; fallback=2$/,
      );
      expect(oai.faults.applied).toBe(oaiCalls);
      const event = await usageOf(third);
      expect(event).toMatchObject({ provider: "engine", fallbackIndex: 2, attempts: 4 });
      expect(event.attemptErrors[0]).toMatch(/^oai:sim-oai .*circuit .* is open/);
      oai.faults.clear();
      claude.faults.clear();
    });

    it("follows the router's fallback chain for self-hosted models", async () => {
      const response = await chat("flaky-tier", "router fallback");
      expect(response.status).toBe(200);
      const route = response.headers.get("x-strata-route")!;
      expect(route).toMatch(/^endpoint=sim-\d; model=strata-sim; .*fallback=1$/);
      expect((await usageOf(response)).attemptErrors[0]).toMatch(
        /^engine:flaky-tier \(flaky-0\): The model replica failed \(HTTP 500\)/,
      );
    });

    it("opens the circuit after repeated failures, then half-opens and closes again", async () => {
      oai.faults.set([{ match: "breaker", status: 500 }]);
      for (let attempt = 0; attempt < 3; attempt++)
        expect((await chat("oai-once:sim-oai", "breaker test")).status).toBe(502);
      const applied = oai.faults.applied;
      const refused = await chat("oai-once:sim-oai", "breaker test");
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as any).error.message).toMatch(/circuit .* is open/);
      expect(oai.faults.applied).toBe(applied);

      oai.faults.clear();
      // After openMs one probe goes through; its success closes the circuit.
      await new Promise((resolve) => setTimeout(resolve, 1_600));
      expect((await chat("oai-once:sim-oai", "breaker test")).status).toBe(200);
      expect((await chat("oai-once:sim-oai", "breaker test")).status).toBe(200);
    });
  });
});
