import { createGrpcClient, type ServiceClient, StrataError } from "@strata/kit";
import { freePort } from "@strata/kit/testing";
import { gatewayV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpEmbedder } from "../../services/gateway/src/embeddings/http-embedder.js";
import { LocalEmbedder } from "../../services/gateway/src/embeddings/local-embedder.js";
import { OpenAI } from "../../services/gateway/test/support/openai-sdk.js";
import { adminJson, eventually, startTestStack, type TestStack } from "../support/local-stack.js";

type Json = any;
const model = "strata-local-embed-v1";
const local = new LocalEmbedder(384);
const close = (actual: ArrayLike<number>, expected: ArrayLike<number>) => {
  expect(actual.length).toBe(expected.length);
  for (let index = 0; index < expected.length; index++)
    expect(actual[index]).toBeCloseTo(expected[index]!, 6);
};

describe("/v1/embeddings and GatewayService.CreateEmbedding", () => {
  let stack: TestStack;
  let grpc: ServiceClient<typeof gatewayV1.GatewayService>;
  const auth = () => ({ metadata: { authorization: `Bearer ${stack.apiKey}` } });

  beforeAll(async () => {
    stack = await startTestStack({}, { engineReplicas: 1 });
    grpc = createGrpcClient(gatewayV1.GatewayService, stack.gatewayGrpcAddress);
  });
  afterAll(async () => {
    grpc?.close();
    await stack?.close();
  });

  it("embeds a string or a list with the built-in embedder, in OpenAI's shape", async () => {
    const response = await stack.post("/v1/embeddings", {
      model,
      input: ["How do I reset my password?", "hello"],
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Json;
    expect(body).toMatchObject({ object: "list", model, usage: { prompt_tokens: 9, total_tokens: 9 } });
    expect(body.data.map((item: Json) => [item.object, item.index])).toEqual([
      ["embedding", 0],
      ["embedding", 1],
    ]);
    close(body.data[0].embedding, local.embedOne("How do I reset my password?"));
    const single = (await (
      await stack.post("/v1/embeddings", { model, input: "hello", dimensions: 128 })
    ).json()) as Json;
    expect(single.data).toHaveLength(1);
    expect(single.data[0].embedding).toHaveLength(128);
    const requestId = response.headers.get("x-request-id")!;
    const row = await eventually(async () => {
      const result = await stack.database.query(
        "SELECT operation, prompt_tokens, status, served_model FROM gateway.usage_ledger WHERE request_id = $1",
        [requestId],
      );
      return result.rows[0];
    });
    expect(row).toEqual({ operation: "embeddings", prompt_tokens: 9, status: 200, served_model: model });
  });

  it("works with the openai SDK, which asks for base64", async () => {
    const client = new OpenAI({ apiKey: stack.apiKey, baseURL: `${stack.gatewayUrl}/v1` });
    const answer = await client.embeddings.create({ model, input: ["first text", "second text"] });
    expect(answer.data).toHaveLength(2);
    close(answer.data[1]!.embedding, local.embedOne("second text"));
    const raw = (await (
      await stack.post("/v1/embeddings", { model, input: "x y", encoding_format: "base64" })
    ).json()) as Json;
    expect(typeof raw.data[0].embedding).toBe("string");
    expect(Buffer.from(raw.data[0].embedding, "base64").length).toBe(384 * 4);
  });

  it("refuses bad input with OpenAI-style errors naming the field", async () => {
    const cases: [unknown, number, string, string | null][] = [
      [{ model }, 400, "Missing required parameter: 'input'.", "input"],
      [{ input: "x" }, 400, "Missing required parameter: 'model'.", "model"],
      [{ model, input: "" }, 400, "Invalid value for 'input': an input must not be empty.", "input"],
      [
        { model, input: ["ok", ""] },
        400,
        "Invalid value for 'input[1]': an input must not be empty.",
        "input",
      ],
      [{ model, input: [] }, 400, "Invalid value for 'input': must contain at least one input.", "input"],
      [
        { model, input: [1, 2, 3] },
        400,
        "Token-id input is not supported by this gateway; send the text to embed as a string or an array of strings.",
        "input",
      ],
      [{ model, input: "x", encoding_format: "int8" }, 400, "", "encoding_format"],
      [
        { model, input: "x", dimensions: 8 },
        400,
        "The built-in embedder supports dimensions from 32 to 4096; got 8.",
        "dimensions",
      ],
      [
        { model: "text-embedding-3-small", input: "x" },
        404,
        "The model 'text-embedding-3-small' does not exist or is not an embedding model; this gateway embeds with 'strata-local-embed-v1'.",
        "model",
      ],
    ];
    for (const [body, status, message, param] of cases) {
      const response = await stack.post("/v1/embeddings", body);
      const error = ((await response.json()) as Json).error;
      expect(response.status, JSON.stringify(body)).toBe(status);
      if (message) expect(error.message).toBe(message);
      expect(error.param).toBe(param);
    }
    const unauthenticated = await fetch(`${stack.gatewayUrl}/v1/embeddings`, {
      method: "POST",
      body: JSON.stringify({ model, input: "x" }),
    });
    expect(unauthenticated.status).toBe(401);
    expect((await fetch(`${stack.gatewayUrl}/v1/embeddings`)).status).toBe(405);
  });

  it("applies a key's allowed models to embeddings too", async () => {
    const admin = async (path: string, body: unknown) => (await adminJson(stack, "POST", path, body)).body;
    const tenant = await admin("/tenants", { name: `embeddings-${Date.now()}` });
    const chatOnly = await admin("/keys", {
      tenant_id: tenant.id,
      name: "chat",
      allowed_models: ["strata-sim"],
    });
    const refused = await stack.post(
      "/v1/embeddings",
      { model, input: "x" },
      { authorization: `Bearer ${chatOnly.secret}` },
    );
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Json).error.message).toBe(
      "This API key is not allowed to use the model 'strata-local-embed-v1'.",
    );
    const embedder = await admin("/keys", { tenant_id: tenant.id, name: "embed", allowed_models: [model] });
    const allowed = await stack.post(
      "/v1/embeddings",
      { model, input: "x" },
      { authorization: `Bearer ${embedder.secret}` },
    );
    expect(allowed.status).toBe(200);
  });

  it("answers CreateEmbedding over gRPC with the same vectors and errors", async () => {
    const answer = await grpc.createEmbedding(
      { model, input: ["over gRPC", "twice"], dimensions: 64 },
      auth(),
    );
    expect(answer.model).toBe(model);
    expect(answer.usage).toMatchObject({ promptTokens: 5, totalTokens: 5 });
    expect(answer.data.map((item) => item.index)).toEqual([0, 1]);
    close(answer.data[0]!.embedding, local.embedOne("over gRPC", 64));
    await expect(grpc.createEmbedding({ model, input: [] }, auth())).rejects.toMatchObject({
      code: "invalid_request",
      message: "Invalid value for 'input': must contain at least one input.",
    });
    await expect(grpc.createEmbedding({ model: "nope", input: ["x"] }, auth())).rejects.toMatchObject({
      code: "model_not_found",
    });
    const refused = await grpc.createEmbedding({ model, input: ["x"] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StrataError);
    expect((refused as StrataError).code).toBe("invalid_api_key");
  });

  it("plugs an OpenAI-compatible server in as the backend (here: this gateway itself)", async () => {
    const embedder = new HttpEmbedder({
      baseUrl: `${stack.gatewayUrl}/v1/`,
      model,
      apiKey: stack.apiKey,
      timeoutMs: 10_000,
      maxBatchSize: 2,
      maxConcurrency: 2,
    });
    try {
      const texts = ["one", "two words", "three words here", "four", "five"];
      const { vectors, promptTokens } = await embedder.embed(texts);
      expect(vectors).toHaveLength(5);
      for (const [index, text] of texts.entries()) close(vectors[index]!, local.embedOne(text));
      expect(promptTokens).toBe((await local.embed(texts)).promptTokens);
      expect(embedder.dimensions).toBe(384);
      await expect(embedder.embed(["x"], { dimensions: 48 })).resolves.toMatchObject({
        vectors: [{ length: 48 }],
      });
      // The upstream's complaint about the input is the client's to see.
      await expect(embedder.embed([""])).rejects.toMatchObject({
        code: "invalid_request",
        message:
          "The embedding backend refused the input: Invalid value for 'input[0]': an input must not be empty.",
      });
    } finally {
      await embedder.close();
    }
    const wrongKey = new HttpEmbedder({
      baseUrl: `${stack.gatewayUrl}/v1`,
      model,
      apiKey: "sk-wrong",
      timeoutMs: 5_000,
      maxBatchSize: 8,
      maxConcurrency: 1,
    });
    await expect(wrongKey.embed(["x"])).rejects.toMatchObject({
      code: "upstream_error",
      message: expect.stringContaining("answered HTTP 401"),
    });
    await wrongKey.close();
    const nowhere = new HttpEmbedder({
      baseUrl: `http://127.0.0.1:${await freePort()}/v1`,
      model,
      timeoutMs: 5_000,
      maxBatchSize: 8,
      maxConcurrency: 1,
    });
    await expect(nowhere.embed(["x"])).rejects.toMatchObject({
      code: "upstream_error",
      message: expect.stringContaining("Could not reach"),
    });
    await nowhere.close();
  });
});
