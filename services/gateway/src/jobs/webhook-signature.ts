import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Job webhooks are signed so receivers can tell they come from this gateway and were not replayed:
 *
 *   Strata-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=…]
 *
 * The secret is the tenant's webhook secret (`whsec_…`, from the admin API), used as the HMAC key as
 * UTF-8 text; while a rotated secret's grace lasts there is one `v1` per secret. Receivers recompute the
 * HMAC over the timestamp, a dot and the raw body bytes, accept any `v1` that matches (compared in
 * constant time), and refuse timestamps too far from their clock (5 minutes here).
 */
export const signatureHeader = "strata-signature";
export const webhookIdHeader = "strata-webhook-id";
export const defaultToleranceSeconds = 300;

/** The tenant's signing secret, derived from the gateway's so no per-tenant secret needs storing. */
export function tenantWebhookSecret(gatewaySecret: string, tenantId: string): string {
  const derived = createHmac("sha256", gatewaySecret)
    .update(`strata-job-webhooks:${tenantId}`)
    .digest("base64url");
  return `whsec_${derived}`;
}

export function signWebhook(
  secrets: string | readonly string[],
  body: string,
  timestampSeconds: number,
): string {
  const signatures = (typeof secrets === "string" ? [secrets] : secrets).map(
    (secret) => `v1=${hmac(secret, timestampSeconds, body)}`,
  );
  return [`t=${timestampSeconds}`, ...signatures].join(",");
}

/** Checks a Strata-Signature header against the raw body; false when it does not match or is too old. */
export function verifyWebhook(
  secret: string,
  header: string | undefined,
  body: string,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  if (!header) return false;
  const parts = new Map<string, string[]>();
  for (const part of header.split(",")) {
    const [key, value] = part.trim().split("=", 2);
    if (key && value) parts.set(key, [...(parts.get(key) ?? []), value]);
  }
  const timestamp = Number(parts.get("t")?.[0]);
  if (!Number.isInteger(timestamp)) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? defaultToleranceSeconds)) return false;
  const expected = Buffer.from(hmac(secret, timestamp, body), "hex");
  return (parts.get("v1") ?? []).some((candidate) => {
    const given = Buffer.from(candidate, "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function hmac(secret: string, timestampSeconds: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
}
