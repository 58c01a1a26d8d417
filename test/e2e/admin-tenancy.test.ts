import { createGrpcClient, type ServiceClient, StrataError } from "@strata/kit";
import { gatewayV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminRequest, eventually, startTestStack, type TestStack } from "../support/local-stack.js";

type Json = any;

/** grpc.status.PERMISSION_DENIED (grpc-js is not a dependency of these tests). */
const permissionDenied = 7;

describe("tenants, projects and keys through the whole platform", () => {
  let stack: TestStack;
  let grpc: ServiceClient<typeof gatewayV1.GatewayService>;

  beforeAll(async () => {
    stack = await startTestStack({ engine: { decodeMsPerToken: 1 } }, { engineReplicas: 1 });
    grpc = createGrpcClient(gatewayV1.GatewayService, stack.gatewayGrpcAddress);
  });
  afterAll(async () => {
    grpc?.close();
    await stack?.close();
  });

  async function admin(method: string, path: string, body?: unknown): Promise<Json> {
    const response = await adminRequest(stack, method, path, body);
    const json = await response.json();
    expect(response.ok, JSON.stringify(json)).toBe(true);
    return json;
  }

  /** A key of a new tenant's project, limited to the given models. */
  async function projectKey(allowedModels: string[] | null) {
    const tenant = await admin("POST", "/tenants", { name: `e2e-${Date.now()}-${Math.random()}` });
    const project = await admin("POST", "/projects", { tenant_id: tenant.id, name: "app" });
    const key = await admin("POST", "/keys", {
      project_id: project.id,
      name: "app",
      allowed_models: allowedModels,
    });
    return { tenant, project, key };
  }

  const chat = (secret: string, model: string) =>
    stack.post(
      "/v1/chat/completions",
      { model, max_tokens: 3, messages: [{ role: "user", content: "hello" }] },
      { authorization: `Bearer ${secret}` },
    );

  it("serves a key's allowed model and refuses any other with 403 naming the model", async () => {
    const { key } = await projectKey(["strata-sim"]);
    expect((await chat(key.secret, "strata-sim")).status).toBe(200);
    const refused = await chat(key.secret, "gpt-4o");
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Json).error).toEqual({
      message: "This API key is not allowed to use the model 'gpt-4o'.",
      type: "permission_error",
      param: "model",
      code: "permission_denied",
    });
  });

  it("refuses a model the key may not use over gRPC too, with PERMISSION_DENIED", async () => {
    const { key } = await projectKey(["only-this-one"]);
    const failure = await grpc
      .createChatCompletion(
        { model: "strata-sim", messages: [{ role: "user", content: "hi" }], params: { maxTokens: 2 } },
        { metadata: { authorization: `Bearer ${key.secret}` } },
      )
      .then(
        () => undefined,
        (error: unknown) => error as StrataError,
      );
    expect(failure).toBeInstanceOf(StrataError);
    expect(failure!.code).toBe("permission_denied");
    expect((failure!.cause as { code: number }).code).toBe(permissionDenied);
    expect(failure!.message).toContain("'strata-sim'");
  });

  it("lists only the models a key may use", async () => {
    const limited = await projectKey(["not-served-here"]);
    const open = await projectKey(null);
    const list = async (secret: string) => {
      const response = await fetch(`${stack.gatewayUrl}/v1/models`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      return ((await response.json()) as Json).data.map((model: Json) => model.id);
    };
    expect(await list(open.key.secret)).toContain("strata-sim");
    expect(await list(limited.key.secret)).toEqual([]);
    const grpcList = await grpc.listModels(
      {},
      { metadata: { authorization: `Bearer ${limited.key.secret}` } },
    );
    expect(grpcList.data).toEqual([]);
  });

  it("records the key's project with every request in the usage ledger", async () => {
    const { key, project, tenant } = await projectKey(null);
    const allowed = await chat(key.secret, "strata-sim");
    expect(allowed.status).toBe(200);
    const requestId = allowed.headers.get("x-request-id")!;
    const row = await eventually(async () => {
      const result = await stack.database.query(
        "SELECT tenant_id, api_key_id, project_id FROM gateway.usage_ledger WHERE request_id = $1",
        [requestId],
      );
      return result.rows[0];
    });
    expect(row).toEqual({ tenant_id: tenant.id, api_key_id: key.id, project_id: project.id });
    // The old dev key belongs to no project.
    const dev = await stack.post("/v1/chat/completions", {
      model: "strata-sim",
      max_tokens: 2,
      messages: [{ role: "user", content: "hi" }],
    });
    const devRow = await eventually(async () => {
      const result = await stack.database.query(
        "SELECT project_id FROM gateway.usage_ledger WHERE request_id = $1",
        [dev.headers.get("x-request-id")],
      );
      return result.rows[0];
    });
    expect(devRow.project_id).toBe("");
  });

  it("writes the local admin token beside the dev API key", async () => {
    expect(stack.adminTokenFile).toBe(`${stack.home}/admin-token`);
    expect(stack.adminToken.length).toBeGreaterThanOrEqual(32);
  });
});
