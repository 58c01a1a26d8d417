import { status as GrpcStatus } from "@grpc/grpc-js";
import { createGrpcClient, type ServiceClient } from "@strata/kit";
import { gatewayAdminV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookSecrets } from "../src/jobs/webhook-secrets.js";
import { signWebhook, tenantWebhookSecret, verifyWebhook } from "../src/jobs/webhook-signature.js";
import {
  adminToken,
  startTestDatabase,
  startTestGateway,
  type TestDatabase,
  type TestGateway,
  testKeyHashSecret,
  unixNow,
} from "./admin-test-gateway.js";
import { statusOf } from "./support/grpc-status.js";

type AdminClient = ServiceClient<typeof gatewayAdminV1.AdminService>;

const gatewaySecret = testKeyHashSecret;
const asAdmin = { metadata: { authorization: `Bearer ${adminToken}` } };

let sequence = 0;
const unique = (name: string) => `${name}-${Date.now().toString(36)}-${++sequence}`;

describe("webhook secrets over the gRPC AdminService", () => {
  let database: TestDatabase;
  let gateway: TestGateway;
  let client: AdminClient;

  beforeAll(async () => {
    database = await startTestDatabase();
    gateway = await startTestGateway({ db: database.db });
    client = createGrpcClient(gatewayAdminV1.AdminService, gateway.grpcAddress);
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await gateway?.close();
    await database?.close();
  });

  const newTenant = async () => (await client.createTenant({ name: unique("hooks") }, asAdmin)).tenant!.id;

  /** The HTTP face's view of the same secret. */
  const httpSecret = async (tenantId: string) =>
    (await (await gateway.admin("GET", `/tenants/${tenantId}/webhook-secret`)).json()) as {
      secret: string;
      rotated_at: number | null;
      previous_secret_expires_at: number | null;
    };

  it("shows the tenant's secret as the HTTP admin API does", async () => {
    const tenantId = await newTenant();
    const { webhookSecret } = await client.getWebhookSecret({ tenantId }, asAdmin);
    expect(webhookSecret).toMatchObject({
      tenantId,
      secret: tenantWebhookSecret(gatewaySecret, tenantId),
      algorithm: "hmac-sha256",
      signatureHeader: "strata-signature",
    });
    expect(webhookSecret?.rotatedAt).toBeUndefined();
    expect(webhookSecret?.previousSecretExpiresAt).toBeUndefined();
    expect(await httpSecret(tenantId)).toMatchObject({
      secret: webhookSecret!.secret,
      rotated_at: null,
      previous_secret_expires_at: null,
    });
  });

  it("rotates with a day's grace unless told otherwise, and the new secret is what both faces show", async () => {
    const tenantId = await newTenant();
    const before = (await client.getWebhookSecret({ tenantId }, asAdmin)).webhookSecret!.secret;
    const rotated = (await client.rotateWebhookSecret({ tenantId }, asAdmin)).webhookSecret!;
    expect(rotated.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(rotated.secret).not.toBe(before);
    expect(Math.abs(Number(rotated.rotatedAt) - unixNow())).toBeLessThan(60);
    expect(Number(rotated.previousSecretExpiresAt) - Number(rotated.rotatedAt)).toBe(86_400);
    expect((await client.getWebhookSecret({ tenantId }, asAdmin)).webhookSecret).toEqual(rotated);
    expect(await httpSecret(tenantId)).toEqual(
      expect.objectContaining({
        secret: rotated.secret,
        rotated_at: Number(rotated.rotatedAt),
        previous_secret_expires_at: Number(rotated.previousSecretExpiresAt),
      }),
    );

    const shorter = (await client.rotateWebhookSecret({ tenantId, gracePeriodSeconds: 600 }, asAdmin))
      .webhookSecret!;
    expect(Number(shorter.previousSecretExpiresAt) - Number(shorter.rotatedAt)).toBe(600);
  });

  it("signs deliveries with both secrets during the grace period, with only the new one without grace", async () => {
    const tenantId = await newTenant();
    // The store the webhook sender reads, on the gateway's database.
    const signing = new WebhookSecrets({ db: database.db, gatewaySecret });
    const old = (await client.getWebhookSecret({ tenantId }, asAdmin)).webhookSecret!.secret;
    const current = (await client.rotateWebhookSecret({ tenantId, gracePeriodSeconds: 3600 }, asAdmin))
      .webhookSecret!.secret;

    const body = JSON.stringify({ id: "evt_1", type: "job.succeeded" });
    const now = unixNow();
    const header = signWebhook(await signing.signingSecrets(tenantId), body, now);
    expect(header.match(/v1=/g)).toHaveLength(2);
    // A receiver still on the old secret and one already on the new both accept the delivery.
    expect(verifyWebhook(old, header, body, { nowSeconds: now })).toBe(true);
    expect(verifyWebhook(current, header, body, { nowSeconds: now })).toBe(true);

    const immediate = (await client.rotateWebhookSecret({ tenantId, gracePeriodSeconds: 0 }, asAdmin))
      .webhookSecret!;
    expect(immediate.previousSecretExpiresAt).toBeUndefined();
    const after = signWebhook(await signing.signingSecrets(tenantId), body, now);
    expect(verifyWebhook(immediate.secret, after, body, { nowSeconds: now })).toBe(true);
    expect(verifyWebhook(current, after, body, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(old, after, body, { nowSeconds: now })).toBe(false);
  });

  it("answers NOT_FOUND for an unknown tenant and INVALID_ARGUMENT for bad input", async () => {
    for (const call of [
      client.getWebhookSecret({ tenantId: "ten_missing" }, asAdmin),
      client.rotateWebhookSecret({ tenantId: "ten_missing" }, asAdmin),
    ]) {
      expect(await statusOf(call)).toEqual({
        code: GrpcStatus.NOT_FOUND,
        message: "No tenant with id 'ten_missing'.",
      });
    }
    expect(await statusOf(client.getWebhookSecret({ tenantId: "" }, asAdmin))).toEqual({
      code: GrpcStatus.INVALID_ARGUMENT,
      message: "Missing required parameter: 'tenant_id'.",
    });
    const tenantId = await newTenant();
    const tooLong = await statusOf(
      client.rotateWebhookSecret({ tenantId, gracePeriodSeconds: 30 * 86_400 + 1 }, asAdmin),
    );
    expect(tooLong.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(tooLong.message).toContain("'grace_period_seconds'");
    expect(tooLong.message).toContain("at most 30 days");
    // A refused rotation changed nothing.
    expect((await client.getWebhookSecret({ tenantId }, asAdmin)).webhookSecret?.rotatedAt).toBeUndefined();
  });

  it("refuses callers without the admin token before reading or rotating anything", async () => {
    const tenantId = await newTenant();
    const { secret: apiKey } = await client.createApiKey({ tenantId, name: "hooks" }, asAdmin);
    const asKey = { metadata: { authorization: `Bearer ${apiKey}` } };

    expect((await statusOf(client.getWebhookSecret({ tenantId }))).code).toBe(GrpcStatus.UNAUTHENTICATED);
    const wrong = { metadata: { authorization: "Bearer not-the-admin-token" } };
    expect((await statusOf(client.rotateWebhookSecret({ tenantId }, wrong))).code).toBe(
      GrpcStatus.UNAUTHENTICATED,
    );
    const read = await statusOf(client.getWebhookSecret({ tenantId }, asKey));
    expect(read.code).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(read.message).not.toContain("whsec_");
    expect((await statusOf(client.rotateWebhookSecret({ tenantId }, asKey))).code).toBe(
      GrpcStatus.PERMISSION_DENIED,
    );
    // An unknown tenant is not revealed to an unauthenticated caller either.
    expect((await statusOf(client.getWebhookSecret({ tenantId: "ten_missing" }))).code).toBe(
      GrpcStatus.UNAUTHENTICATED,
    );
    expect((await client.getWebhookSecret({ tenantId }, asAdmin)).webhookSecret?.rotatedAt).toBeUndefined();
  });
});
