import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EngineSim, startEngineSim } from "../src/index.js";
import { json, metricValue, post, sseData } from "./helpers.js";

let sim: EngineSim;

beforeAll(async () => {
  sim = await startEngineSim({
    port: 0,
    api: "tgi",
    model: "sim/tgi-model",
    timeScale: 0,
    logLevel: "silent",
    maxModelLen: 1024,
    scriptRules: [{ match: "ping", reply: "pong pong pong" }],
  });
});
afterAll(() => sim.close());

describe("TGI API", () => {
  it("generates with details", async () => {
    const response = await post(`${sim.url}/generate`, {
      inputs: "ping?",
      parameters: { max_new_tokens: 20, details: true, seed: 3 },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-generated-tokens")).toBe("3");
    const body = await json(response);
    expect(body.generated_text).toBe("pong pong pong");
    expect(body.details).toMatchObject({
      finish_reason: "eos_token",
      generated_tokens: 3,
      seed: 3,
      prefill: [],
    });
    expect(body.details.tokens.map((token: { text: string }) => token.text)).toEqual([
      "pong",
      " pong",
      " pong",
    ]);
    const capped = await json(
      await post(`${sim.url}/generate`, { inputs: "ping", parameters: { max_new_tokens: 2, details: true } }),
    );
    expect(capped).toMatchObject({ generated_text: "pong pong", details: { finish_reason: "length" } });
    const plain = await json(await post(`${sim.url}/generate`, { inputs: "ping" }));
    expect(plain).toEqual({ generated_text: "pong pong pong" });
  });

  it("streams tokens as `data:{...}` events, the last one carrying the text and details", async () => {
    const response = await post(`${sim.url}/generate_stream`, {
      inputs: "ping",
      parameters: { details: true },
    });
    const raw = await response.text();
    expect(raw.startsWith("data:{")).toBe(true);
    const events = sseData(raw).map((event) => JSON.parse(event));
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({
      index: 1,
      token: { text: "pong", special: false },
      generated_text: null,
      details: null,
    });
    expect(events[2]).toMatchObject({
      generated_text: "pong pong pong",
      details: { finish_reason: "eos_token", generated_tokens: 3, input_length: 2 },
    });
  });

  it("serves /info, /v1/models and the OpenAI chat route", async () => {
    const info = await json(await fetch(`${sim.url}/info`));
    expect(info).toMatchObject({
      model_id: "sim/tgi-model",
      max_input_tokens: 1023,
      max_total_tokens: 1024,
      router: "text-generation-router",
    });
    expect(typeof info.max_concurrent_requests).toBe("number");
    const models = await json(await fetch(`${sim.url}/v1/models`));
    expect(models.data[0]).toMatchObject({ id: "sim/tgi-model", owned_by: "sim/tgi-model" });
    const chat = await post(`${sim.url}/v1/chat/completions`, {
      model: "tgi",
      messages: [{ role: "user", content: "ping" }],
      stream: true,
    });
    const raw = await chat.text();
    expect(raw.endsWith("data:[DONE]\n\n")).toBe(true);
    const chunks = sseData(raw)
      .slice(0, -1)
      .map((event) => JSON.parse(event));
    expect(chunks.map((chunk) => chunk.choices[0].delta.content ?? "").join("")).toBe("pong pong pong");
    expect(chunks[0].model).toBe("sim/tgi-model");
  });

  it("rejects invalid input with TGI's 422 body", async () => {
    const empty = await post(`${sim.url}/generate`, { inputs: "", parameters: {} });
    expect(empty.status).toBe(422);
    expect(await json(empty)).toEqual({ error: "`inputs` cannot be empty", error_type: "validation" });
    const tooLong = await post(`${sim.url}/generate`, {
      inputs: "word ".repeat(2000),
      parameters: { max_new_tokens: 5 },
    });
    expect(tooLong.status).toBe(422);
    expect((await json(tooLong)).error).toMatch(/`inputs` tokens \+ `max_new_tokens` must be <= 1024/);
    const missing = await post(`${sim.url}/generate`, { parameters: {} });
    expect(missing.status).toBe(422);
    expect(await missing.text()).toMatch(/missing field `inputs`/);
  });

  it("exposes TGI metric names that move with traffic", async () => {
    const read = async () => (await fetch(`${sim.url}/metrics`)).text();
    const before = await read();
    for (const name of [
      "tgi_queue_size",
      "tgi_batch_current_size",
      "tgi_batch_current_max_tokens",
      "tgi_request_count",
    ]) {
      expect(metricValue(before, name)).toBeDefined();
    }
    expect(before).not.toContain("vllm:");
    const count = metricValue(before, "tgi_request_count") ?? 0;
    const success = metricValue(before, "tgi_request_success") ?? 0;
    await post(`${sim.url}/generate`, { inputs: "ping", parameters: { max_new_tokens: 3 } });
    const after = await read();
    expect(metricValue(after, "tgi_request_count")).toBe(count + 1);
    expect(metricValue(after, "tgi_request_success")).toBe(success + 1);
    expect(after).toContain("# TYPE tgi_request_duration histogram");
    expect(metricValue(after, "tgi_request_generated_tokens_count")).toBeGreaterThan(0);
    expect(metricValue(after, "tgi_request_input_length_count")).toBeGreaterThan(0);
    expect(metricValue(after, "tgi_request_mean_time_per_token_duration_count")).toBeGreaterThan(0);
    expect(metricValue(after, "tgi_request_queue_duration_count")).toBeGreaterThan(0);
  });
});
