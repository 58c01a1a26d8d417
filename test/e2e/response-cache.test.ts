import { createGrpcClient } from "@strata/kit";
import { gatewayV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenAI } from "../../services/gateway/test/support/openai-sdk.js";
import { adminJson, eventually, readSse, startTestStack, type TestStack } from "../support/local-stack.js";

type Json = any;

describe("exact and semantic response caches through the whole platform", () => {
  let stack: TestStack;
  let client: OpenAI;
  let sequence = 0;

  beforeAll(async () => {
    stack = await startTestStack({ engine: { decodeMsPerToken: 1 } }, { engineReplicas: 1 });
    client = new OpenAI({ apiKey: stack.apiKey, baseURL: `${stack.gatewayUrl}/v1` });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** A question no other test asks, so each test starts from an empty cache. */
  const fresh = (text: string) => `${text} (#${Date.now().toString(36)}-${++sequence})`;
  const greedy = (content: string, extra: Record<string, unknown> = {}) => ({
    model: "strata-sim",
    temperature: 0,
    max_tokens: 12,
    messages: [{ role: "user", content }],
    ...extra,
  });

  async function ledger(requestId: string): Promise<Json> {
    return eventually(async () => {
      const result = await stack.database.query(
        `SELECT cache_status, prompt_tokens, completion_tokens, cache_saved_prompt_tokens,
                cache_saved_completion_tokens, endpoint_id
           FROM gateway.usage_ledger WHERE request_id = $1`,
        [requestId],
      );
      return result.rows[0];
    });
  }

  it("answers a repeated deterministic request from the exact cache, and says so", async () => {
    const question = fresh("What is a B-tree?");
    const first = await stack.post("/v1/chat/completions", greedy(question));
    expect(first.status).toBe(200);
    expect(first.headers.get("x-strata-cache")).toBe("miss");
    const firstBody = await first.text();
    // Field order and formatting do not matter; stream and user do not either.
    const reordered = `{"messages":[{"content":${JSON.stringify(question)},"role":"user"}],
      "max_tokens": 12, "user": "someone", "temperature": 0, "model": "strata-sim"}`;
    const second = await stack.post("/v1/chat/completions", reordered);
    expect(second.headers.get("x-strata-cache")).toBe("hit");
    expect(second.headers.get("x-strata-route")).toBeNull();
    expect(await second.text()).toBe(firstBody);
    const original = JSON.parse(firstBody);
    const row = await ledger(second.headers.get("x-request-id")!);
    expect(row).toEqual({
      cache_status: "hit",
      prompt_tokens: 0,
      completion_tokens: 0,
      cache_saved_prompt_tokens: original.usage.prompt_tokens,
      cache_saved_completion_tokens: original.usage.completion_tokens,
      endpoint_id: "",
    });
    expect((await ledger(first.headers.get("x-request-id")!)).cache_status).toBe("miss");
  });

  it("replays a cached answer as a stream the openai SDK reads, with usage when asked", async () => {
    const question = fresh("Name three primes");
    const plain = await client.chat.completions.create(greedy(question) as never);
    const { data: stream, response } = await client.chat.completions
      .create({ ...greedy(question), stream: true, stream_options: { include_usage: true } } as never)
      .withResponse();
    expect(response.headers.get("x-strata-cache")).toBe("hit");
    let content = "";
    let usage: Json;
    for await (const chunk of stream as unknown as AsyncIterable<Json>) {
      content += chunk.choices[0]?.delta?.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(content).toBe((plain as Json).choices[0].message.content);
    expect(usage).toEqual((plain as Json).usage);
    const final = await client.chat.completions.stream(greedy(question) as never).finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe((plain as Json).choices[0].message.content);
    const raw = await stack.post("/v1/chat/completions", { ...greedy(question), stream: true });
    expect(raw.headers.get("content-type")).toBe("text/event-stream");
    const events = await readSse(raw);
    expect(events.at(-1)).toBe("[DONE]");
    expect(events.some((event) => event.includes('"usage"'))).toBe(false);
  });

  it("stores a streamed answer for later plain requests", async () => {
    const question = fresh("Count to five");
    const streamed = await stack.post("/v1/chat/completions", { ...greedy(question), stream: true });
    expect(streamed.headers.get("x-strata-cache")).toBe("miss");
    const text = (await readSse(streamed))
      .filter((event) => event !== "[DONE]")
      .map((event) => JSON.parse(event).choices[0]?.delta?.content ?? "")
      .join("");
    const plain = await eventually(async () => {
      const response = await stack.post("/v1/chat/completions", greedy(question));
      return response.headers.get("x-strata-cache") === "hit" ? ((await response.json()) as Json) : undefined;
    });
    expect(plain.choices[0].message.content).toBe(text);
  });

  it("bypasses sampled requests, caches them when asked, and honours off and refresh", async () => {
    const question = fresh("Tell me a joke");
    const sampled = { ...greedy(question), temperature: 0.9 };
    expect((await stack.post("/v1/chat/completions", sampled)).headers.get("x-strata-cache")).toBe("bypass");
    const on = { "x-strata-cache": "on" };
    expect((await stack.post("/v1/chat/completions", sampled, on)).headers.get("x-strata-cache")).toBe(
      "miss",
    );
    expect((await stack.post("/v1/chat/completions", sampled, on)).headers.get("x-strata-cache")).toBe("hit");
    const refreshed = await stack.post("/v1/chat/completions", sampled, { "x-strata-cache": "refresh" });
    expect(refreshed.headers.get("x-strata-cache")).toBe("miss");
    const refreshedBody = await refreshed.text();
    const after = await stack.post("/v1/chat/completions", sampled, on);
    expect(await after.text()).toBe(refreshedBody);
    const off = await stack.post("/v1/chat/completions", greedy(question), { "x-strata-cache": "off" });
    expect(off.headers.get("x-strata-cache")).toBe("bypass");
  });

  it("never serves one tenant's answer to another", async () => {
    const admin = async (path: string, body: unknown) => (await adminJson(stack, "POST", path, body)).body;
    const tenant = await admin("/tenants", { name: fresh("cache-tenant") });
    const project = await admin("/projects", { tenant_id: tenant.id, name: "app" });
    const key = await admin("/keys", { project_id: project.id, name: "app" });
    const question = fresh("What is our secret plan?");
    await stack.post("/v1/chat/completions", greedy(question));
    expect((await stack.post("/v1/chat/completions", greedy(question))).headers.get("x-strata-cache")).toBe(
      "hit",
    );
    const other = await stack.post("/v1/chat/completions", greedy(question), {
      authorization: `Bearer ${key.secret}`,
    });
    expect(other.status).toBe(200);
    expect(other.headers.get("x-strata-cache")).toBe("miss");
  });

  it("serves a paraphrase from the semantic cache only when opted in and in the same context", async () => {
    const topic = fresh("password");
    const ask = (
      content: string,
      system = "You are the support bot of Acme.",
      headers = { "x-strata-semantic-cache": "on" },
    ) =>
      stack.post(
        "/v1/chat/completions",
        {
          model: "strata-sim",
          temperature: 0.7,
          max_tokens: 12,
          messages: [
            { role: "system", content: system },
            { role: "user", content },
          ],
        },
        headers,
      );
    const first = await ask(`How do I reset my ${topic}?`);
    expect(first.headers.get("x-strata-cache")).toBe("miss");
    const answer = await first.text();
    const paraphrase = await eventually(async () => {
      const response = await ask(`how can I reset my ${topic}`);
      return response.headers.get("x-strata-cache") === "semantic-hit" ? response : undefined;
    });
    expect(await paraphrase.text()).toBe(answer);
    expect(
      (await ask(`how can I reset my ${topic}`, "You are a pirate.")).headers.get("x-strata-cache"),
    ).toBe("miss");
    expect((await ask(`Where is my ${topic} order?`)).headers.get("x-strata-cache")).toBe("miss");
    // Without the opt-in the semantic cache is never consulted (and a sampled request skips the exact one).
    expect(
      (await ask(`how can I reset my ${topic}`, undefined, {} as never)).headers.get("x-strata-cache"),
    ).toBe("bypass");
    const row = await ledger(paraphrase.headers.get("x-request-id")!);
    expect(row.cache_status).toBe("semantic-hit");
  });

  it("serves the same cache over gRPC, steered by metadata", async () => {
    const grpc = createGrpcClient(gatewayV1.GatewayService, stack.gatewayGrpcAddress);
    try {
      const metadata = { authorization: `Bearer ${stack.apiKey}`, "x-strata-cache": "on" };
      const request = {
        model: "strata-sim",
        messages: [{ role: "user", content: fresh("Explain gRPC caching") }],
        params: { maxTokens: 12, temperature: 0.8 },
      };
      const first = await grpc.createChatCompletion(request, { metadata });
      const second = await grpc.createChatCompletion(request, { metadata });
      expect(second.id).toBe(first.id);
      expect(second.choices[0]?.message?.content).toBe(first.choices[0]?.message?.content);
      expect(second.route).toBe(""); // answered by the cache, not routed
      let streamed = "";
      for await (const chunk of grpc.streamChatCompletion(request, { metadata }))
        streamed += chunk.choices[0]?.delta?.content ?? "";
      expect(streamed).toBe(first.choices[0]?.message?.content);
      await expect(
        grpc.createChatCompletion(request, { metadata: { ...metadata, "x-strata-cache": "never" } }),
      ).rejects.toMatchObject({ code: "invalid_request" });
    } finally {
      grpc.close();
    }
  });

  it("refuses malformed cache headers with 400", async () => {
    const response = await stack.post("/v1/chat/completions", greedy("x"), { "x-strata-cache": "sometimes" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as Json).error.message).toBe(
      "The x-strata-cache header must be one of on, off, refresh; got 'sometimes'.",
    );
    const ttl = await stack.post("/v1/chat/completions", greedy("x"), { "x-strata-cache-ttl": "soon" });
    expect(ttl.status).toBe(400);
  });
});
