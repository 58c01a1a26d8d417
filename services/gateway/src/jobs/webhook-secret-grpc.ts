import type { MessageInitShape } from "@bufbuild/protobuf";
import type { gatewayAdminV1 } from "@strata/proto";
import type { AdminGuard } from "../admin/admin-grpc-service.js";
import { optionalSeconds } from "../admin/admin-proto-mapping.js";
import { requireId, validateInput } from "../admin/admin-validation.js";
import {
  rotateWebhookSecretSchema,
  type WebhookSecretAdmin,
  webhookSignatureAlgorithm,
} from "./webhook-secret-admin.js";
import type { TenantWebhookSecret } from "./webhook-secrets.js";
import { signatureHeader } from "./webhook-signature.js";

type WebhookSecretMessage = MessageInitShape<typeof gatewayAdminV1.WebhookSecretSchema>;

export function webhookSecretMessage(secret: TenantWebhookSecret): WebhookSecretMessage {
  return {
    tenantId: secret.tenantId,
    secret: secret.secret,
    algorithm: webhookSignatureAlgorithm,
    signatureHeader,
    rotatedAt: optionalSeconds(secret.rotatedAt),
    previousSecretExpiresAt: optionalSeconds(secret.previousExpiresAt),
  };
}

/**
 * The AdminService's GetWebhookSecret and RotateWebhookSecret: the HTTP routes' operations
 * (`/admin/v1/tenants/{id}/webhook-secret`) over the same WebhookSecretAdmin, behind the same guard as
 * every other admin method.
 */
export function webhookSecretMethods(
  secrets: Pick<WebhookSecretAdmin, "get" | "rotate">,
  guarded: AdminGuard,
) {
  return {
    getWebhookSecret: guarded(async (request: gatewayAdminV1.GetWebhookSecretRequest) => ({
      webhookSecret: webhookSecretMessage(await secrets.get(requireId(request.tenantId, "tenant_id"))),
    })),
    rotateWebhookSecret: guarded(async (request: gatewayAdminV1.RotateWebhookSecretRequest) => {
      const tenantId = requireId(request.tenantId, "tenant_id");
      // Unset takes the same default as an HTTP body without the field (a day); 0 means no grace.
      const input = validateInput(rotateWebhookSecretSchema, {
        grace_period_seconds: request.gracePeriodSeconds,
      });
      return { webhookSecret: webhookSecretMessage(await secrets.rotate(tenantId, input)) };
    }),
  };
}
