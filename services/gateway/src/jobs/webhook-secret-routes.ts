import type { Database } from "@strata/kit";
import { z } from "zod";
import type { AdminRequest, AdminRouter } from "../admin/admin-router.js";
import { notFound } from "../admin/sql.js";
import { bodyOrEmpty } from "../admin/tenancy-routes.js";
import { unixSeconds } from "./job-model.js";
import type { TenantWebhookSecret, WebhookSecrets } from "./webhook-secrets.js";
import { signatureHeader } from "./webhook-signature.js";

const DAY_SECONDS = 86_400;

const rotateSchema = z
  .object({
    /** How long the replaced secret keeps signing too: receivers switch over without a gap. */
    grace_period_seconds: z
      .number()
      .int("must be a whole number of seconds")
      .min(0)
      .max(30 * DAY_SECONDS, "must be at most 30 days (2592000 seconds)")
      .default(DAY_SECONDS),
  })
  .strict();

function secretJson(secret: TenantWebhookSecret) {
  return {
    object: "webhook_secret" as const,
    tenant_id: secret.tenantId,
    secret: secret.secret,
    algorithm: "hmac-sha256" as const,
    signature_header: signatureHeader,
    rotated_at: unixSeconds(secret.rotatedAt),
    previous_secret_expires_at: unixSeconds(secret.previousExpiresAt),
  };
}

/**
 * `GET /admin/v1/tenants/{id}/webhook-secret`: the secret a tenant's job webhooks are signed with, for
 * the operator to hand to the tenant; `POST …/webhook-secret/rotate` replaces it (the old one signs
 * alongside for `grace_period_seconds`, a day unless given).
 */
export function registerWebhookSecretRoutes(
  router: AdminRouter,
  deps: { db: Pick<Database, "query">; secrets: Pick<WebhookSecrets, "get" | "rotate"> },
): void {
  const tenantOf = async (request: AdminRequest) => {
    const id = request.params.id!;
    const found = await deps.db.query("SELECT 1 FROM gateway.tenants WHERE id = $1", [id]);
    if (found.rowCount !== 1) throw notFound("tenant", id, "id");
    return id;
  };
  router
    .add("GET", "/tenants/:id/webhook-secret", async (request) => ({
      body: secretJson(await deps.secrets.get(await tenantOf(request))),
    }))
    .add("POST", "/tenants/:id/webhook-secret/rotate", async (request) => {
      const tenantId = await tenantOf(request);
      const input = await bodyOrEmpty(request, rotateSchema);
      const rotated = await deps.secrets.rotate(tenantId, input.grace_period_seconds * 1000);
      return { body: secretJson(rotated) };
    });
}
