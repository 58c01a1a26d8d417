import { type Database, StrataError } from "@strata/kit";
import { type KeyRow, keyColumns, recordFrom } from "../auth/api-key-store.js";
import type { AuthContext } from "../auth/auth-context.js";

/**
 * The auth context a job runs with: the submitting key as it is now, not as it was at submission, so
 * a key revoked or narrowed meanwhile stops its queued jobs too (the secret itself is never stored).
 */
export async function jobAuthContext(
  db: Pick<Database, "query">,
  apiKeyId: string,
  now: number = Date.now(),
): Promise<AuthContext> {
  const result = await db.query<KeyRow>(`SELECT ${keyColumns} FROM gateway.api_keys WHERE id = $1`, [
    apiKeyId,
  ]);
  const row = result.rows[0];
  if (!row) throw new StrataError("invalid_api_key", "The API key that submitted this job no longer exists.");
  const { auth, revokedAt } = recordFrom(row);
  if (revokedAt !== undefined && revokedAt <= now)
    throw new StrataError("invalid_api_key", "The API key that submitted this job has been revoked.");
  if (auth.expiresAt !== undefined && auth.expiresAt <= now)
    throw new StrataError("invalid_api_key", "The API key that submitted this job has expired.");
  return auth;
}
