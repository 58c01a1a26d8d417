import type { Database } from "@strata/kit";
import { z } from "zod";
import { notFound } from "../admin/sql.js";
import type { TenantWebhookSecret, WebhookSecrets } from "./webhook-secrets.js";

const DAY_SECONDS = 86_400;

/** What a rotation takes, from the HTTP body or the gRPC request alike. */
export const rotateWebhookSecretSchema = z
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

export type RotateWebhookSecretInput = z.output<typeof rotateWebhookSecretSchema>;

/** The signature scheme, shown beside the secret so a receiver knows how to check deliveries. */
export const webhookSignatureAlgorithm = "hmac-sha256";

export interface WebhookSecretAdminDeps {
  db: Pick<Database, "query">;
  secrets: Pick<WebhookSecrets, "get" | "rotate">;
}

/**
 * The admin operations on a tenant's webhook signing secret, behind both faces of the admin API (the
 * HTTP routes and the gRPC AdminService), so they agree on which tenants exist and on the defaults.
 */
export class WebhookSecretAdmin {
  constructor(private readonly deps: WebhookSecretAdminDeps) {}

  async get(tenantId: string): Promise<TenantWebhookSecret> {
    await this.requireTenant(tenantId);
    return this.deps.secrets.get(tenantId);
  }

  async rotate(tenantId: string, input: RotateWebhookSecretInput): Promise<TenantWebhookSecret> {
    await this.requireTenant(tenantId);
    return this.deps.secrets.rotate(tenantId, input.grace_period_seconds * 1000);
  }

  /** A secret can be derived for any id: only a tenant that exists has one to show or rotate. */
  private async requireTenant(tenantId: string): Promise<void> {
    const found = await this.deps.db.query("SELECT 1 FROM gateway.tenants WHERE id = $1", [tenantId]);
    if (found.rowCount !== 1) throw notFound("tenant", tenantId, "id");
  }
}
