import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ConfigError, StrataError } from "@strata/kit";
import { bearerToken } from "../auth/api-key-secret.js";
import type { AdminConfig } from "./admin-config.js";

export interface AdminCredentialOptions {
  /** SHA-256 of the admin token; undefined leaves the admin API disabled. */
  tokenSha256: Buffer | undefined;
  /** Tells a tenant's API key from a wrong token, so the caller learns why they were refused. */
  isApiKey?: (secret: string) => Promise<boolean>;
}

const disabledMessage =
  "The admin API is disabled on this gateway: set GATEWAY_ADMIN_TOKEN (or GATEWAY_ADMIN_TOKEN_FILE, " +
  "GATEWAY_ADMIN_TOKEN_SHA256) to enable it.";

/** Checks the admin credential of an admin call (HTTP or gRPC); the comparison takes constant time. */
export class AdminCredential {
  constructor(private readonly options: AdminCredentialOptions) {}

  get enabled(): boolean {
    return this.options.tokenSha256 !== undefined;
  }

  /** Resolves when `authorization` carries the admin token; throws 403 or 401 otherwise. */
  async verify(authorization: string | undefined): Promise<void> {
    const expected = this.options.tokenSha256;
    if (!expected) throw new StrataError("permission_denied", disabledMessage);
    const token = bearerToken(authorization);
    if (!token) {
      throw new StrataError(
        "invalid_api_key",
        "You didn't provide an admin token. Provide it in the Authorization header as 'Bearer ADMIN_TOKEN'.",
      );
    }
    // Comparing digests keeps the time independent of where, or whether, the lengths differ.
    if (timingSafeEqual(sha256(token), expected)) return;
    if (await this.options.isApiKey?.(token)) {
      throw new StrataError(
        "permission_denied",
        "API keys cannot use the admin API; authenticate with the gateway's admin token.",
      );
    }
    throw new StrataError("invalid_api_key", "Incorrect admin token provided.");
  }
}

export function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The expected digest from whichever form of the credential is configured. */
export async function loadAdminTokenDigest(config: AdminConfig): Promise<Buffer | undefined> {
  if (config.token) return sha256(config.token);
  if (config.tokenSha256) return Buffer.from(config.tokenSha256, "hex");
  if (!config.tokenFile) return undefined;
  let token: string;
  try {
    token = (await readFile(config.tokenFile, "utf8")).trim();
  } catch (error) {
    throw new ConfigError([
      `GATEWAY_ADMIN_TOKEN_FILE (admin.tokenFile): cannot read ${config.tokenFile}: ${(error as Error).message}`,
    ]);
  }
  if (token.length < 16)
    throw new ConfigError([
      `GATEWAY_ADMIN_TOKEN_FILE (admin.tokenFile): the token in ${config.tokenFile} must be at least 16 characters`,
    ]);
  return sha256(token);
}
