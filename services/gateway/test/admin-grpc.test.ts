import { status as GrpcStatus } from "@grpc/grpc-js";
import { createGrpcClient, type ServiceClient } from "@strata/kit";
import { gatewayAdminV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminToken,
  probeKey,
  startTestDatabase,
  startTestGateway,
  type TestDatabase,
  type TestGateway,
  unixNow,
} from "./admin-test-gateway.js";
import { statusOf } from "./support/grpc-status.js";

type AdminClient = ServiceClient<typeof gatewayAdminV1.AdminService>;

let sequence = 0;
const unique = (name: string) => `${name}-${Date.now().toString(36)}-${++sequence}`;
const asAdmin = { metadata: { authorization: `Bearer ${adminToken}` } };

// One database for the file: both gateways below migrate it and share it, as replicas would.
let database: TestDatabase;
beforeAll(async () => {
  database = await startTestDatabase();
});
afterAll(() => database?.close());

describe("the gRPC AdminService", () => {
  let gateway: TestGateway;
  let client: AdminClient;

  beforeAll(async () => {
    gateway = await startTestGateway({ db: database.db });
    client = createGrpcClient(gatewayAdminV1.AdminService, gateway.grpcAddress);
  });
  afterAll(async () => {
    client?.close();
    await gateway?.close();
  });

  it("needs the admin token: UNAUTHENTICATED without one, PERMISSION_DENIED for an API key", async () => {
    expect((await statusOf(client.listTenants({}))).code).toBe(GrpcStatus.UNAUTHENTICATED);
    const wrong = await statusOf(
      client.listTenants({}, { metadata: { authorization: "Bearer nope-nope-nope" } }),
    );
    expect(wrong.code).toBe(GrpcStatus.UNAUTHENTICATED);
    const { tenant } = await client.createTenant({ name: unique("t") }, asAdmin);
    const { secret } = await client.createApiKey({ tenantId: tenant!.id, name: "k" }, asAdmin);
    const denied = await statusOf(
      client.listTenants({}, { metadata: { authorization: `Bearer ${secret}` } }),
    );
    expect(denied.code).toBe(GrpcStatus.PERMISSION_DENIED);
  });

  it("manages tenants and projects with precise status codes", async () => {
    const name = unique("tenant");
    const { tenant } = await client.createTenant({ name, metadata: { tier: "gold" } }, asAdmin);
    expect(tenant).toMatchObject({ name, metadata: { tier: "gold" } });
    expect(Number(tenant!.createdAt)).toBeGreaterThan(unixNow() - 60);
    expect((await client.getTenant({ id: tenant!.id }, asAdmin)).tenant?.name).toBe(name);
    expect((await statusOf(client.createTenant({ name }, asAdmin))).code).toBe(GrpcStatus.ALREADY_EXISTS);
    const empty = await statusOf(client.createTenant({ name: "" }, asAdmin));
    expect(empty).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
    expect(empty.message).toContain("'name'");
    expect((await statusOf(client.getTenant({ id: "ten_missing" }, asAdmin))).code).toBe(
      GrpcStatus.NOT_FOUND,
    );
    expect((await statusOf(client.getTenant({ id: "" }, asAdmin))).code).toBe(GrpcStatus.INVALID_ARGUMENT);

    const { project } = await client.createProject({ tenantId: tenant!.id, name: "web" }, asAdmin);
    expect(project).toMatchObject({ tenantId: tenant!.id, name: "web" });
    const listed = await client.listProjects({ tenantId: tenant!.id }, asAdmin);
    expect(listed.projects.map((item) => item.id)).toEqual([project!.id]);
    const noTenant = await statusOf(client.createProject({ name: "web" }, asAdmin));
    expect(noTenant).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      message: "Missing required parameter: 'tenant_id'.",
    });
    expect((await client.getProject({ id: project!.id }, asAdmin)).project?.name).toBe("web");
  });

  it("pages tenants with has_more", async () => {
    const first = (await client.createTenant({ name: unique("page") }, asAdmin)).tenant!;
    await client.createTenant({ name: unique("page") }, asAdmin);
    await client.createTenant({ name: unique("page") }, asAdmin);
    const page = await client.listTenants({ limit: 1, after: first.id }, asAdmin);
    expect(page.tenants).toHaveLength(1);
    expect(page.hasMore).toBe(true);
  });

  it("creates, updates, rotates and revokes keys", async () => {
    const { tenant } = await client.createTenant({ name: unique("keys") }, asAdmin);
    const { project } = await client.createProject({ tenantId: tenant!.id, name: "p" }, asAdmin);
    const expiresAt = BigInt(unixNow() + 3600);
    const created = await client.createApiKey(
      {
        projectId: project!.id,
        name: "svc",
        allowedModels: { models: ["m1"] },
        metadata: { a: "1" },
        expiresAt,
      },
      asAdmin,
    );
    expect(created.secret).toMatch(/^sk-strata-/);
    expect(created.apiKey).toMatchObject({
      tenantId: tenant!.id,
      projectId: project!.id,
      allowedModels: { models: ["m1"] },
      expiresAt,
      status: gatewayAdminV1.ApiKeyStatus.ACTIVE,
    });
    const id = created.apiKey!.id;
    const listed = await client.listApiKeys({ projectId: project!.id }, asAdmin);
    expect(listed.apiKeys.map((key) => key.id)).toEqual([id]);

    const updated = await client.updateApiKey({ id, allowedModels: { models: [] }, expiresAt: 0n }, asAdmin);
    expect(updated.apiKey?.allowedModels).toBeUndefined();
    expect(updated.apiKey?.expiresAt).toBeUndefined();
    expect(updated.apiKey?.metadata).toEqual({ a: "1" });
    const renamed = await client.updateApiKey({ id, name: "svc-2", metadata: { entries: {} } }, asAdmin);
    expect(renamed.apiKey).toMatchObject({ name: "svc-2", metadata: {} });
    const past = await statusOf(client.updateApiKey({ id, expiresAt: 5n }, asAdmin));
    expect(past).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });

    const rotated = await client.rotateApiKey({ id, gracePeriodSeconds: 600 }, asAdmin);
    expect(rotated.apiKey?.rotatedFrom).toBe(id);
    expect(rotated.previous?.status).toBe(gatewayAdminV1.ApiKeyStatus.ROTATING);
    expect((await probeKey(gateway.url, created.secret)).status).toBe(400);
    const twice = await statusOf(client.rotateApiKey({ id }, asAdmin));
    expect(twice.code).toBe(GrpcStatus.FAILED_PRECONDITION);

    const revoked = await client.revokeApiKey({ id }, asAdmin);
    expect(revoked.apiKey?.status).toBe(gatewayAdminV1.ApiKeyStatus.REVOKED);
    expect((await probeKey(gateway.url, created.secret)).status).toBe(401);
    expect((await client.getApiKey({ id }, asAdmin)).apiKey?.status).toBe(
      gatewayAdminV1.ApiKeyStatus.REVOKED,
    );
    expect((await statusOf(client.revokeApiKey({ id: "key_missing" }, asAdmin))).code).toBe(
      GrpcStatus.NOT_FOUND,
    );
  });

  it("refuses an idempotent retry of a key create with ALREADY_EXISTS naming the key", async () => {
    const { tenant } = await client.createTenant({ name: unique("idem") }, asAdmin);
    const request = { tenantId: tenant!.id, name: "once", idempotencyKey: unique("k") };
    const first = await client.createApiKey(request, asAdmin);
    const retry = await statusOf(client.createApiKey(request, asAdmin));
    expect(retry.code).toBe(GrpcStatus.ALREADY_EXISTS);
    expect(retry.message).toContain(first.apiKey!.id);
    expect((await client.listApiKeys({ tenantId: tenant!.id }, asAdmin)).apiKeys).toHaveLength(1);
  });
});

describe("the gRPC AdminService on a gateway without an admin token", () => {
  let gateway: TestGateway;
  let client: AdminClient;

  beforeAll(async () => {
    gateway = await startTestGateway({ db: database.db, adminToken: undefined });
    client = createGrpcClient(gatewayAdminV1.AdminService, gateway.grpcAddress);
  });
  afterAll(async () => {
    client?.close();
    await gateway?.close();
  });

  it("answers PERMISSION_DENIED saying the admin API is disabled", async () => {
    const denied = await statusOf(client.listTenants({}, asAdmin));
    expect(denied.code).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(denied.message).toContain("admin API is disabled");
  });
});
