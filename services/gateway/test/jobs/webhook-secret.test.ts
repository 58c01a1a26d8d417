import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookSecrets } from "../../src/jobs/webhook-secrets.js";
import { tenantWebhookSecret } from "../../src/jobs/webhook-signature.js";
import {
  startTestDatabase,
  startTestGateway,
  type TestDatabase,
  type TestGateway,
  testKeyHashSecret,
} from "../admin-test-gateway.js";

const gatewaySecret = testKeyHashSecret;

interface SecretJson {
  object: string;
  tenant_id: string;
  secret: string;
  rotated_at: number | null;
  previous_secret_expires_at: number | null;
}

describe("webhook signing secrets", () => {
  let database: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    database = await startTestDatabase();
    // The gateway migrates the schema; its admin API is what operators use.
    gateway = await startTestGateway({ db: database.db });
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    await database?.close();
  });

  it("signs with the derived secret until a rotation, then with the new one and the old one during its grace", async () => {
    let now = Date.parse("2026-03-01T00:00:00Z");
    const secrets = new WebhookSecrets({ db: database.db, gatewaySecret, now: () => now });
    const derived = tenantWebhookSecret(gatewaySecret, "ten_rotating");
    expect(await secrets.signingSecrets("ten_rotating")).toEqual([derived]);
    expect(await secrets.get("ten_rotating")).toMatchObject({ secret: derived, rotatedAt: undefined });

    const first = await secrets.rotate("ten_rotating", 3_600_000);
    expect(first.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(first.secret).not.toBe(derived);
    expect(first.previousExpiresAt).toEqual(new Date(now + 3_600_000));
    expect(await secrets.signingSecrets("ten_rotating")).toEqual([first.secret, derived]);

    now += 3_600_001;
    expect(await secrets.signingSecrets("ten_rotating")).toEqual([first.secret]);

    const second = await secrets.rotate("ten_rotating", 60_000);
    expect(await secrets.signingSecrets("ten_rotating")).toEqual([second.secret, first.secret]);
    // No grace: the replaced secret stops signing at once.
    const third = await secrets.rotate("ten_rotating", 0);
    expect(await secrets.signingSecrets("ten_rotating")).toEqual([third.secret]);
    expect(third.previousSecret).toBeUndefined();
  });

  it("stores rotated secrets sealed, still reads secrets stored before sealing, and opens a sealed one only for its tenant and gateway secret", async () => {
    const secrets = new WebhookSecrets({ db: database.db, gatewaySecret });
    const stored = async (tenantId: string) =>
      (
        await database.db.query<{ secret: string; previous_secret: string | null }>(
          "SELECT secret, previous_secret FROM gateway.webhook_secrets WHERE tenant_id = $1",
          [tenantId],
        )
      ).rows[0]!;

    const rotated = await secrets.rotate("ten_sealed", 60_000);
    const row = await stored("ten_sealed");
    for (const column of [row.secret, row.previous_secret!]) {
      expect(column).toMatch(/^enc:v1:/);
      expect(column).not.toContain("whsec_");
    }
    expect(await secrets.signingSecrets("ten_sealed")).toEqual([
      rotated.secret,
      tenantWebhookSecret(gatewaySecret, "ten_sealed"),
    ]);

    // A row from before secrets were sealed: read as it is, and kept as the previous secret on rotation.
    const legacy = `whsec_${"L".repeat(43)}`;
    await database.db.query(
      "INSERT INTO gateway.webhook_secrets (tenant_id, secret, rotated_at) VALUES ($1, $2, now())",
      ["ten_legacy", legacy],
    );
    expect((await secrets.get("ten_legacy")).secret).toBe(legacy);
    const afterLegacy = await secrets.rotate("ten_legacy", 60_000);
    expect(await secrets.signingSecrets("ten_legacy")).toEqual([afterLegacy.secret, legacy]);

    // A sealed secret copied onto another tenant's row does not open there.
    await database.db.query(
      "INSERT INTO gateway.webhook_secrets (tenant_id, secret, rotated_at) VALUES ($1, $2, now())",
      ["ten_copied", row.secret],
    );
    await expect(secrets.get("ten_copied")).rejects.toMatchObject({ code: "failed_precondition" });

    // Under another gateway secret the stored one cannot be read (a clear error); a rotation recovers.
    const elsewhere = new WebhookSecrets({
      db: database.db,
      gatewaySecret: "another-gateway-secret-9876543210",
    });
    await expect(elsewhere.signingSecrets("ten_sealed")).rejects.toThrow(
      /Rotate the tenant's webhook secret/,
    );
    const recovered = await elsewhere.rotate("ten_sealed", 0);
    expect(await elsewhere.signingSecrets("ten_sealed")).toEqual([recovered.secret]);
  });

  it("is read and rotated through the admin API only", async () => {
    const tenant = (await (await gateway.admin("POST", "/tenants", { name: "webhook-secrets" })).json()) as {
      id: string;
    };
    const key = (await (
      await gateway.admin("POST", "/keys", { tenant_id: tenant.id, name: "webhooks" })
    ).json()) as { secret: string };

    const read = await gateway.admin("GET", `/tenants/${tenant.id}/webhook-secret`);
    expect(read.status).toBe(200);
    const current = (await read.json()) as SecretJson;
    expect(current).toMatchObject({
      object: "webhook_secret",
      tenant_id: tenant.id,
      secret: tenantWebhookSecret(gatewaySecret, tenant.id),
      rotated_at: null,
      previous_secret_expires_at: null,
    });

    const rotated = await gateway.admin("POST", `/tenants/${tenant.id}/webhook-secret/rotate`);
    const after = (await rotated.json()) as SecretJson;
    expect(rotated.status).toBe(200);
    expect(after.secret).not.toBe(current.secret);
    // A day's grace unless asked otherwise.
    expect(after.previous_secret_expires_at! - after.rotated_at!).toBe(86_400);
    expect(
      ((await (await gateway.admin("GET", `/tenants/${tenant.id}/webhook-secret`)).json()) as SecretJson)
        .secret,
    ).toBe(after.secret);
    const immediate = (await (
      await gateway.admin("POST", `/tenants/${tenant.id}/webhook-secret/rotate`, { grace_period_seconds: 0 })
    ).json()) as SecretJson;
    expect(immediate.previous_secret_expires_at).toBeNull();

    const bad = await gateway.admin("POST", `/tenants/${tenant.id}/webhook-secret/rotate`, {
      grace_period_seconds: -1,
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe("grace_period_seconds");
    expect((await gateway.admin("GET", "/tenants/ten_missing/webhook-secret")).status).toBe(404);

    // The tenant's own API key cannot read it, nor can it use the admin route.
    const asKey = { authorization: `Bearer ${key.secret}` };
    const byKey = await fetch(`${gateway.url}/v1/jobs/webhook-secret`, { headers: asKey });
    expect(byKey.status).toBe(403);
    expect(JSON.stringify(await byKey.json())).not.toContain("whsec_");
    const adminByKey = await gateway.admin("GET", `/tenants/${tenant.id}/webhook-secret`, undefined, asKey);
    expect(adminByKey.status).toBe(403);
    expect(JSON.stringify(await adminByKey.json())).not.toContain("whsec_");
  });
});
