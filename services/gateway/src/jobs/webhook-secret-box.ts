import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { StrataError } from "@strata/kit";

const prefix = "enc:v1:";
const ivBytes = 12;
const tagBytes = 16;

/**
 * Seals the webhook secrets a rotation stores, so a copy of the database (a backup, a replica, a
 * support dump) does not hand out the keys that make webhooks trusted. AES-256-GCM under a key
 * derived from the gateway's webhook secret; the tenant id is authenticated with each secret, so a
 * sealed secret copied onto another tenant's row does not open. Rows stored before secrets were
 * sealed hold the plain `whsec_…` text and still read as it.
 */
export class WebhookSecretBox {
  private readonly key: Buffer;

  constructor(gatewaySecret: string) {
    this.key = Buffer.from(hkdfSync("sha256", gatewaySecret, "", "strata-webhook-secrets-at-rest", 32));
  }

  seal(tenantId: string, secret: string): string {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv).setAAD(Buffer.from(tenantId));
    const sealed = Buffer.concat([iv, cipher.update(secret, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `${prefix}${sealed.toString("base64url")}`;
  }

  open(tenantId: string, stored: string): string {
    if (!stored.startsWith(prefix)) return stored;
    const sealed = Buffer.from(stored.slice(prefix.length), "base64url");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, sealed.subarray(0, ivBytes))
        .setAAD(Buffer.from(tenantId))
        .setAuthTag(sealed.subarray(sealed.length - tagBytes));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(ivBytes, sealed.length - tagBytes)),
        decipher.final(),
      ]);
      return plain.toString("utf8");
    } catch (error) {
      throw new StrataError(
        "failed_precondition",
        `The webhook secret stored for tenant '${tenantId}' cannot be read: it was sealed under another gateway webhook secret (GATEWAY_JOBS_WEBHOOK_SECRET, or the key-hash secret when that is unset). Rotate the tenant's webhook secret to store a new one.`,
        { cause: error },
      );
    }
  }
}
