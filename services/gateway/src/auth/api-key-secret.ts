import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const secretPrefix = "sk-strata-";

/** A new API key secret: a recognisable prefix and 32 random bytes. Shown once, never stored. */
export function newApiKeySecret(): string {
  return secretPrefix + randomBytes(32).toString("base64url");
}

/** The keyed hash stored in place of the secret. */
export function hashApiKey(secret: string, hashKey: string): Buffer {
  return createHmac("sha256", hashKey).update(secret).digest();
}

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("base64url")}`;
}

/** Reads `Authorization: Bearer <key>`; undefined when absent or malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
