import { type Database, StrataError } from "@strata/kit";
import type { AuthContext } from "../auth/auth-context.js";

interface KeyRow {
  id: string;
  tenant_id: string;
  project_id: string | null;
  allowed_models: string[] | null;
  metadata: Record<string, string> | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

/**
 * The auth context a job runs with: the submitting key as it is now, not as it was at submission, so
 * a key revoked or narrowed meanwhile stops its queued jobs too (the secret itself is never stored).
 */
export async function jobAuthContext(
  db: Pick<Database, "query">,
  apiKeyId: string,
  now: number = Date.now(),
): Promise<AuthContext> {
  const result = await db.query<KeyRow>(
    `SELECT id, tenant_id, project_id, allowed_models, metadata, expires_at, revoked_at
       FROM gateway.api_keys WHERE id = $1`,
    [apiKeyId],
  );
  const row = result.rows[0];
  if (!row) throw new StrataError("invalid_api_key", "The API key that submitted this job no longer exists.");
  if (row.revoked_at && row.revoked_at.getTime() <= now)
    throw new StrataError("invalid_api_key", "The API key that submitted this job has been revoked.");
  if (row.expires_at && row.expires_at.getTime() <= now)
    throw new StrataError("invalid_api_key", "The API key that submitted this job has expired.");
  return {
    tenantId: row.tenant_id,
    apiKeyId: row.id,
    projectId: row.project_id ?? undefined,
    allowedModels: row.allowed_models ?? undefined,
    metadata: row.metadata ?? {},
    expiresAt: row.expires_at?.getTime(),
  };
}
