import { createGrpcClient, parseMetricsText, type ServiceClient, StrataError } from "@strata/kit";
import { gatewayV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminJson, eventually, startTestStack, type TestStack } from "../support/local-stack.js";

/** JSON bodies, asserted field by field. */
type Json = any;

const embedModel = "strata-local-embed-v1";
// $1000 per million input tokens: a few tokens cost a visible fraction of a cent.
const pricing = { [embedModel]: { input: 1_000, output: 0 } };
let sequence = 0;
const unique = (name: string) => `${name}-${Date.now().toString(36)}-${++sequence}`;

describe("embeddings are governed and accounted for like completions", () => {
  let stack: TestStack;
  let grpc: ServiceClient<typeof gatewayV1.GatewayService>;

  const admin = (method: string, path: string, body?: unknown) => adminJson(stack, method, path, body);
  /** A fresh tenant with one key, its allowed models and limits. */
  const tenantWithKey = async (options: { models?: string[]; limits?: Record<string, number> } = {}) => {
    const tenant = await admin("POST", "/tenants", { name: unique("embed-tenant") });
    const key = await admin("POST", "/keys", {
      tenant_id: tenant.body.id,
      name: "e2e",
      ...(options.models ? { allowed_models: options.models } : {}),
    });
    expect(key.status).toBe(201);
    if (options.limits)
      expect((await admin("PUT", `/keys/${key.body.id}/limits`, options.limits)).status).toBe(200);
    return {
      tenantId: tenant.body.id as string,
      keyId: key.body.id as string,
      secret: key.body.secret as string,
    };
  };
  const embed = (secret: string, input: unknown = "How do I reset my password?") =>
    fetch(`${stack.gatewayUrl}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: embedModel, input }),
    });
  const grpcEmbed = (secret: string) =>
    grpc
      .createEmbedding(
        { model: embedModel, input: ["over gRPC"] },
        { metadata: { authorization: `Bearer ${secret}` } },
      )
      .then(
        (answer) => answer,
        (error: unknown) => error as StrataError,
      );
  /** The gateway's embeddings series on /metrics: requests by status, durations observed, prompt tokens. */
  const embeddingsMetrics = async () => {
    const requests = "strata_gateway_requests_total";
    const durations = "strata_gateway_request_duration_seconds_count";
    const tokens = "strata_gateway_tokens_total";
    const response = await fetch(`${stack.gatewayOpsUrl}/metrics`);
    expect(response.status).toBe(200);
    const families = parseMetricsText(await response.text(), new Set([requests, durations, tokens]));
    // Tokens are counted by model alone; requests and durations by operation and model.
    const ours = (name: string) =>
      (families.get(name) ?? []).filter(
        (sample) =>
          sample.labels.model === embedModel && [undefined, "embeddings"].includes(sample.labels.operation),
      );
    const byStatus: Record<string, number> = {};
    for (const sample of ours(requests)) byStatus[sample.labels.status!] = sample.value;
    return {
      byStatus,
      durations: ours(durations).reduce((sum, sample) => sum + sample.value, 0),
      promptTokens: ours(tokens).find((sample) => sample.labels.type === "prompt")?.value ?? 0,
    };
  };
  const listModels = async (secret: string, path = "/v1/models") => {
    const response = await fetch(`${stack.gatewayUrl}${path}`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  beforeAll(async () => {
    stack = await startTestStack(
      { engine: { decodeMsPerToken: 1 }, gateway: { pricing } },
      { engineReplicas: 1 },
    );
    grpc = createGrpcClient(gatewayV1.GatewayService, stack.gatewayGrpcAddress);
  });
  afterAll(async () => {
    grpc?.close();
    await stack?.close();
  });

  it("refuses a key without the embedding model with 403 naming it, over HTTP and gRPC", async () => {
    const { secret } = await tenantWithKey({ models: ["strata-sim"] });
    const refused = await embed(secret);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Json).error).toMatchObject({
      code: "permission_denied",
      message: `This API key is not allowed to use the model '${embedModel}'.`,
      param: "model",
    });
    const failure = await grpcEmbed(secret);
    expect(failure).toBeInstanceOf(StrataError);
    expect((failure as StrataError).code).toBe("permission_denied");
    expect(((failure as StrataError).cause as { code: number }).code).toBe(7); // PERMISSION_DENIED
  });

  it("applies a tight RPM limit: rate-limit headers, then 429 with Retry-After (gRPC: RESOURCE_EXHAUSTED)", async () => {
    const { keyId, secret } = await tenantWithKey({
      limits: { requests_per_minute: 2, tokens_per_minute: 10_000 },
    });
    const first = await embed(secret);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    expect(first.headers.get("x-ratelimit-limit-tokens")).toBe("10000");
    expect(first.headers.get("x-strata-route")).toBe(`backend=local; model=${embedModel}`);
    expect((await grpcEmbed(secret)) as Json).toMatchObject({ model: embedModel });

    const refused = await embed(secret);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const error = ((await refused.json()) as Json).error;
    expect(error).toMatchObject({ code: "rate_limit_exceeded", type: "rate_limit_error" });
    expect(error.message).toContain(`requests per minute (RPM) on API key ${keyId}`);

    const overGrpc = await grpcEmbed(secret);
    expect(overGrpc).toBeInstanceOf(StrataError);
    expect((overGrpc as StrataError).code).toBe("rate_limit_exceeded");
    expect(((overGrpc as StrataError).cause as { code: number }).code).toBe(8); // RESOURCE_EXHAUSTED
  });

  it("refuses an input larger than the key's TPM limit before embedding it", async () => {
    const { secret } = await tenantWithKey({ limits: { tokens_per_minute: 50 } });
    expect((await embed(secret, "short text")).status).toBe(200);
    const tooLarge = await embed(secret, ["x".repeat(400)]); // about 100 tokens
    expect(tooLarge.status).toBe(429);
    const message = ((await tooLarge.json()) as Json).error.message as string;
    expect(message).toContain("tokens per minute (TPM)");
    expect(message).toContain("Send less input per request");
    expect(message).not.toContain("max_tokens");
  });

  it("writes one ledger row per call with its cost and provider, shown by /admin/v1/usage", async () => {
    const { tenantId, keyId, secret } = await tenantWithKey();
    const answer = await embed(secret, ["first text to embed", "second one"]);
    expect(answer.status).toBe(200);
    const promptTokens = ((await answer.json()) as Json).usage.prompt_tokens as number;
    expect(promptTokens).toBeGreaterThan(0);
    const requestId = answer.headers.get("x-request-id")!;
    const row = await eventually(async () => {
      const result = await stack.database.query(
        `SELECT operation, api_key_id, prompt_tokens, completion_tokens, cost_usd, priced_model, provider,
                attempts, route, status FROM gateway.usage_ledger WHERE request_id = $1`,
        [requestId],
      );
      return result.rows[0];
    });
    expect(row).toMatchObject({
      operation: "embeddings",
      api_key_id: keyId,
      prompt_tokens: promptTokens,
      completion_tokens: 0,
      priced_model: embedModel,
      provider: "local",
      attempts: 1,
      route: `backend=local; model=${embedModel}`,
      status: 200,
    });
    expect(row.cost_usd).toBeCloseTo((promptTokens * 1_000) / 1_000_000, 12);

    const report = await admin("GET", `/usage?group_by=provider,operation,model&tenant_id=${tenantId}`);
    expect(report.status).toBe(200);
    expect(report.body.data).toEqual([
      expect.objectContaining({
        provider: "local",
        operation: "embeddings",
        model: embedModel,
        requests: 1,
        prompt_tokens: promptTokens,
      }),
    ]);
    expect(report.body.data[0].cost_usd).toBeCloseTo(row.cost_usd, 12);
  });

  it("lists the embedding model in /v1/models and ListModels, only to keys allowed it", async () => {
    const open = await tenantWithKey();
    const chatOnly = await tenantWithKey({ models: ["strata-sim"] });
    const list = await listModels(open.secret);
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual(
      expect.arrayContaining([
        { id: embedModel, object: "model", created: 0, owned_by: "strata" },
        expect.objectContaining({ id: "strata-sim" }),
      ]),
    );
    const one = await listModels(open.secret, `/v1/models/${embedModel}`);
    expect(one).toEqual({
      status: 200,
      body: { id: embedModel, object: "model", created: 0, owned_by: "strata" },
    });
    expect((await listModels(chatOnly.secret)).body.data.map((model: Json) => model.id)).toEqual([
      "strata-sim",
    ]);
    expect((await listModels(chatOnly.secret, `/v1/models/${embedModel}`)).status).toBe(404);

    const grpcModels = async (secret: string) =>
      (await grpc.listModels({}, { metadata: { authorization: `Bearer ${secret}` } })).data.map((model) => [
        model.id,
        model.ownedBy,
      ]);
    expect(await grpcModels(open.secret)).toContainEqual([embedModel, "strata"]);
    expect(await grpcModels(chatOnly.secret)).toEqual([["strata-sim", "strata"]]);
  });

  it("counts embeddings in the gateway's request metrics, answered and refused, over HTTP and gRPC", async () => {
    const before = await embeddingsMetrics();
    const limited = await tenantWithKey({ limits: { requests_per_minute: 2, tokens_per_minute: 10_000 } });
    const answered = await embed(limited.secret);
    expect(answered.status).toBe(200);
    const httpTokens = ((await answered.json()) as Json).usage.prompt_tokens as number;
    const overGrpc = (await grpcEmbed(limited.secret)) as Json;
    expect(overGrpc).toMatchObject({ model: embedModel });
    expect((await embed(limited.secret)).status).toBe(429);
    expect(((await grpcEmbed(limited.secret)) as StrataError).code).toBe("rate_limit_exceeded");
    const chatOnly = await tenantWithKey({ models: ["strata-sim"] });
    expect((await embed(chatOnly.secret)).status).toBe(403);
    expect(((await grpcEmbed(chatOnly.secret)) as StrataError).code).toBe("permission_denied");

    const after = await embeddingsMetrics();
    const added = (status: string) => (after.byStatus[status] ?? 0) - (before.byStatus[status] ?? 0);
    expect({ 200: added("200"), 403: added("403"), 429: added("429") }).toEqual({ 200: 2, 403: 2, 429: 2 });
    expect(after.durations - before.durations).toBe(6);
    expect(after.promptTokens - before.promptTokens).toBe(httpTokens + Number(overGrpc.usage.promptTokens));
  });
});
