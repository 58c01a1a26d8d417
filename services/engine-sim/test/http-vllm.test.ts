import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EngineSim, startEngineSim } from "../src/index.js";
import { json, metricValue, post, sseData } from "./helpers.js";

let sim: EngineSim;
const SYSTEM = "You are a careful assistant that answers questions about distributed systems. ".repeat(8);

beforeAll(async () => {
  sim = await startEngineSim({
    port: 0,
    model: "sim-llama",
    timeScale: 0,
    logLevel: "silent",
    maxModelLen: 2048,
  });
});
afterAll(() => sim.close());

const chat = (body: Record<string, unknown>) =>
  post(`${sim.url}/v1/chat/completions`, {
    model: "sim-llama",
    messages: [{ role: "user", content: "hi" }],
    ...body,
  });

describe("vLLM OpenAI API", () => {
  it("answers a chat completion in vLLM's shape", async () => {
    const response = await chat({ max_tokens: 8, seed: 1 });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body).toMatchObject({ object: "chat.completion", model: "sim-llama", system_fingerprint: null });
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(body.choices[0]).toMatchObject({ index: 0, message: { role: "assistant" }, logprobs: null });
    expect(["stop", "length"]).toContain(body.choices[0].finish_reason);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(8);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    // The same request is answered the same way.
    const again = await json(await chat({ max_tokens: 8, seed: 1 }));
    expect(again.choices[0].message.content).toBe(body.choices[0].message.content);
  });

  it("streams chat chunks, then a usage chunk and [DONE]", async () => {
    const response = await chat({
      max_tokens: 6,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = sseData(await response.text());
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    const content = chunks.slice(1, -1);
    expect(content).toHaveLength(6);
    for (const chunk of content) expect(chunk.object).toBe("chat.completion.chunk");
    expect(content.at(-1).choices[0]).toMatchObject({ finish_reason: "length", stop_reason: null });
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({ completion_tokens: 6 });
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  it("reports cached_tokens for a repeated prompt", async () => {
    const messages = [
      { role: "system", content: SYSTEM },
      { role: "user", content: `unique ${Date.now()}` },
    ];
    const first = await json(await chat({ messages, max_tokens: 2 }));
    expect(first.usage.prompt_tokens_details).toBeNull();
    const second = await json(await chat({ messages, max_tokens: 2 }));
    const cached = second.usage.prompt_tokens_details.cached_tokens;
    expect(cached).toBeGreaterThan(0);
    expect(cached % 16).toBe(0);
    expect(cached).toBeLessThan(second.usage.prompt_tokens);
  });

  it("serves /v1/completions with n choices, stop strings and streaming", async () => {
    const response = await post(`${sim.url}/v1/completions`, {
      model: "sim-llama",
      prompt: "Once upon a time",
      n: 2,
      max_tokens: 5,
    });
    const body = await json(response);
    expect(body.object).toBe("text_completion");
    expect(body.id).toMatch(/^cmpl-/);
    expect(body.choices.map((choice: { index: number }) => choice.index)).toEqual([0, 1]);
    const stream = await post(`${sim.url}/v1/completions`, {
      prompt: "Once upon a time",
      max_tokens: 3,
      stream: true,
    });
    const events = sseData(await stream.text());
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    expect(chunks.every((chunk) => chunk.object === "text_completion")).toBe(true);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
  });

  it("tokenizes prompts and messages consistently with usage.prompt_tokens", async () => {
    const prompt = await json(
      await post(`${sim.url}/tokenize`, { model: "sim-llama", prompt: "hello world" }),
    );
    expect(prompt).toMatchObject({ count: 3, max_model_len: 2048 });
    expect(prompt.tokens).toHaveLength(3);
    const messages = [{ role: "user", content: "tokenize me please" }];
    const tokenized = await json(await post(`${sim.url}/tokenize`, { model: "sim-llama", messages }));
    const completion = await json(await chat({ messages, max_tokens: 1 }));
    expect(tokenized.count).toBe(completion.usage.prompt_tokens);
  });

  it("lists the model like vLLM", async () => {
    const body = await json(await fetch(`${sim.url}/v1/models`));
    expect(body.object).toBe("list");
    expect(body.data[0]).toMatchObject({
      id: "sim-llama",
      object: "model",
      owned_by: "vllm",
      root: "sim-llama",
      max_model_len: 2048,
    });
    const health = await fetch(`${sim.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe("");
  });

  it("rejects bad requests with vLLM's error body", async () => {
    const malformed = await post(`${sim.url}/v1/chat/completions`, "{not json");
    expect(malformed.status).toBe(400);
    expect((await json(malformed)).error).toMatchObject({ type: "BadRequestError", code: 400 });

    const missing = await post(`${sim.url}/v1/chat/completions`, { model: "sim-llama" });
    expect(missing.status).toBe(400);
    expect((await json(missing)).error).toMatchObject({ type: "BadRequestError", param: "messages" });

    const unknown = await chat({ model: "gpt-9" });
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({
      error: { message: "The model `gpt-9` does not exist.", type: "NotFoundError", param: null, code: 404 },
    });

    const tooLong = await post(`${sim.url}/v1/completions`, { prompt: "word ".repeat(3000) });
    expect(tooLong.status).toBe(400);
    expect((await json(tooLong)).error.message).toMatch(/maximum context length is 2048 tokens/);

    const badMax = await chat({ max_tokens: 0 });
    expect(badMax.status).toBe(400);
    expect((await json(badMax)).error).toMatchObject({
      message: "max_tokens must be at least 1, got 0.",
      param: "max_tokens",
    });

    const tooMany = await chat({ max_tokens: 5000 });
    expect((await json(tooMany)).error.message).toMatch(
      /'max_tokens' or 'max_completion_tokens' is too large: 5000/,
    );
  });

  it("exposes vLLM metrics that move with traffic", async () => {
    const read = async () => (await fetch(`${sim.url}/metrics`)).text();
    const before = await read();
    for (const name of [
      "vllm:num_requests_running",
      "vllm:num_requests_waiting",
      "vllm:kv_cache_usage_perc",
      "vllm:gpu_cache_usage_perc",
      "vllm:prefix_cache_queries_total",
      "vllm:gpu_prefix_cache_hits_total",
      "vllm:num_preemptions_total",
    ]) {
      expect(metricValue(before, name, { model_name: "sim-llama" })).toBeDefined();
    }
    expect(before).toContain("# TYPE vllm:time_to_first_token_seconds histogram");
    expect(before).toContain(
      'vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="sim-llama",engine="0"}',
    );
    expect(before).toContain(
      'vllm:e2e_request_latency_seconds_bucket{le="7680",model_name="sim-llama",engine="0"}',
    );
    const labels = { model_name: "sim-llama" };
    const successBefore =
      metricValue(before, "vllm:request_success_total", { ...labels, finished_reason: "length" }) ?? 0;
    const generatedBefore = metricValue(before, "vllm:generation_tokens_total", labels) ?? 0;
    await chat({ max_tokens: 4, ignore_eos: true });
    const after = await read();
    expect(metricValue(after, "vllm:request_success_total", { ...labels, finished_reason: "length" })).toBe(
      successBefore + 1,
    );
    expect(metricValue(after, "vllm:generation_tokens_total", labels)).toBe(generatedBefore + 4);
    expect(metricValue(after, "vllm:prompt_tokens_total", labels)).toBeGreaterThan(
      metricValue(before, "vllm:prompt_tokens_total", labels) ?? 0,
    );
  });
});
