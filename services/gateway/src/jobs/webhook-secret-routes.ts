import type { AdminRouter } from "../admin/admin-router.js";
import { bodyOrEmpty } from "../admin/tenancy-routes.js";
import { unixSeconds } from "./job-model.js";
import {
  rotateWebhookSecretSchema,
  type WebhookSecretAdmin,
  webhookSignatureAlgorithm,
} from "./webhook-secret-admin.js";
import type { TenantWebhookSecret } from "./webhook-secrets.js";
import { signatureHeader } from "./webhook-signature.js";

function secretJson(secret: TenantWebhookSecret) {
  return {
    object: "webhook_secret" as const,
    tenant_id: secret.tenantId,
    secret: secret.secret,
    algorithm: webhookSignatureAlgorithm,
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
  deps: { secrets: Pick<WebhookSecretAdmin, "get" | "rotate"> },
): void {
  router
    .add(
      "GET",
      "/tenants/:id/webhook-secret",
      { summary: "A tenant's webhook signing secrets" },
      async (request) => ({
        body: secretJson(await deps.secrets.get(request.params.id!)),
      }),
    )
    .add(
      "POST",
      "/tenants/:id/webhook-secret/rotate",
      { summary: "Rotate a tenant's webhook signing secret", body: rotateWebhookSecretSchema },
      async (request) => {
        const input = await bodyOrEmpty(request, rotateWebhookSecretSchema);
        return { body: secretJson(await deps.secrets.rotate(request.params.id!, input)) };
      },
    );
}
