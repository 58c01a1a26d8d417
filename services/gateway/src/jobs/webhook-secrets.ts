import { randomBytes } from "node:crypto";
import type { Database } from "@strata/kit";
import { type RowOf, recordFromRow } from "./row-record.js";
import { WebhookSecretBox } from "./webhook-secret-box.js";
import { tenantWebhookSecret } from "./webhook-signature.js";

/** A tenant's webhook signing secret as the admin API shows it. */
export interface TenantWebhookSecret {
  tenantId: string;
  secret: string;
  /** When the secret was last rotated; undefined while the tenant signs with its derived secret. */
  rotatedAt: Date | undefined;
  /** The secret it replaced, still signing alongside it until `previousExpiresAt`. */
  previousSecret: string | undefined;
  previousExpiresAt: Date | undefined;
}

export interface WebhookSecretsDeps {
  db: Pick<Database, "query">;
  /** The gateway secret each tenant's first secret is derived from. */
  gatewaySecret: string;
  now?: (() => number) | undefined;
}

const columns = "tenant_id, secret, rotated_at, previous_secret, previous_expires_at";

/**
 * Each tenant's webhook signing secret. Until an admin rotates it, a tenant signs with a secret derived
 * from the gateway's (nothing to store); a rotation stores a random one in gateway.webhook_secrets and
 * keeps the one before signing too for a grace period, so receivers can switch without missing a
 * delivery. Stored secrets are sealed (WebhookSecretBox). Only the admin API reads them: an API key of
 * the tenant cannot, so a leaked key cannot forge webhooks the tenant would trust.
 */
export class WebhookSecrets {
  private readonly box: WebhookSecretBox;

  constructor(private readonly deps: WebhookSecretsDeps) {
    this.box = new WebhookSecretBox(deps.gatewaySecret);
  }

  async get(tenantId: string): Promise<TenantWebhookSecret> {
    const result = await this.deps.db.query<RowOf<TenantWebhookSecret>>(
      `SELECT ${columns} FROM gateway.webhook_secrets WHERE tenant_id = $1`,
      [tenantId],
    );
    const row = result.rows[0];
    if (row) return this.opened(recordFromRow(row));
    return {
      tenantId,
      secret: this.derived(tenantId),
      rotatedAt: undefined,
      previousSecret: undefined,
      previousExpiresAt: undefined,
    };
  }

  /** The secrets a webhook is signed with now: the current one, and the previous one during its grace. */
  async signingSecrets(tenantId: string): Promise<string[]> {
    const current = await this.get(tenantId);
    const previousLive =
      current.previousSecret !== undefined &&
      current.previousExpiresAt !== undefined &&
      current.previousExpiresAt.getTime() > this.now();
    return previousLive ? [current.secret, current.previousSecret!] : [current.secret];
  }

  /** Replaces the secret with a new random one; the old one keeps signing for `graceMs` (0: not at all). */
  async rotate(tenantId: string, graceMs: number): Promise<TenantWebhookSecret> {
    const secret = `whsec_${randomBytes(32).toString("base64url")}`;
    const now = this.now();
    const previousExpiresAt = graceMs > 0 ? new Date(now + graceMs) : null;
    // One statement, so two rotations at once leave a consistent pair (the later one wins). The
    // replaced secret moves to previous_secret as stored (sealed, or plain from before sealing).
    const result = await this.deps.db.query<RowOf<TenantWebhookSecret>>(
      `INSERT INTO gateway.webhook_secrets AS stored (tenant_id, secret, rotated_at, previous_secret, previous_expires_at)
       VALUES ($1, $2, $3, CASE WHEN $5::timestamptz IS NULL THEN NULL ELSE $4 END, $5)
       ON CONFLICT (tenant_id) DO UPDATE SET secret = excluded.secret, rotated_at = excluded.rotated_at,
         previous_secret = CASE WHEN excluded.previous_expires_at IS NULL THEN NULL ELSE stored.secret END,
         previous_expires_at = excluded.previous_expires_at
       RETURNING ${columns}`,
      [
        tenantId,
        this.box.seal(tenantId, secret),
        new Date(now),
        this.box.seal(tenantId, this.derived(tenantId)),
        previousExpiresAt,
      ],
    );
    return this.opened(recordFromRow(result.rows[0]!));
  }

  private opened(stored: TenantWebhookSecret): TenantWebhookSecret {
    const { tenantId, previousSecret } = stored;
    return {
      ...stored,
      secret: this.box.open(tenantId, stored.secret),
      previousSecret: previousSecret === undefined ? undefined : this.box.open(tenantId, previousSecret),
    };
  }

  private derived(tenantId: string): string {
    return tenantWebhookSecret(this.deps.gatewaySecret, tenantId);
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}
