import { type Database, type Logger, StrataError } from "@strata/kit";
import { hashApiKey, newApiKeySecret, newId } from "../auth/api-key-secret.js";
import { keyPrefix } from "../auth/api-key-store.js";
import type { KeyInvalidation } from "../auth/key-invalidation.js";
import { idempotentCreate } from "./idempotency.js";
import { listPage } from "./list-page.js";
import { notFound, rows, type Sql } from "./sql.js";
import {
  type ApiKeyInfo,
  type ApiKeyRow,
  apiKeyColumns,
  apiKeyFrom,
  keyStatus,
  type Page,
} from "./tenancy-model.js";
import type { CreateKeyInput, ListKeysInput, RotateKeyInput, UpdateKeyInput } from "./tenancy-schemas.js";
import type { TenantAdmin } from "./tenant-admin.js";

export interface ApiKeyAdminDeps {
  db: Database;
  /** The HMAC key under which secrets are stored (GATEWAY_KEY_HASH_SECRET). */
  hashKey: string;
  tenants: Pick<TenantAdmin, "tenantIn" | "projectIn">;
  invalidation: Pick<KeyInvalidation, "keyChanged">;
  /** Every change to a key is logged (never its secret), as the audit trail of the admin API. */
  logger: Pick<Logger, "info">;
  now?: () => number;
}

export interface IssuedKey {
  key: ApiKeyInfo;
  /** Shown to the caller this once; only its keyed hash is stored. */
  secret: string;
}

/** Settings a new key gets; a rotation copies them from the key it replaces. */
interface KeySettings {
  tenantId: string;
  projectId: string | undefined;
  name: string;
  allowedModels: string[] | undefined;
  metadata: Record<string, string>;
  expiresAt: Date | undefined;
  rotatedFrom?: string;
}

/** API keys: create (the secret returned once), list, get, update, rotate and revoke. */
export class ApiKeyAdmin {
  private readonly now: () => number;

  constructor(private readonly deps: ApiKeyAdminDeps) {
    this.now = deps.now ?? Date.now;
  }

  async createKey(input: CreateKeyInput, key?: string): Promise<IssuedKey> {
    let secret = "";
    const created = await idempotentCreate(this.deps.db, {
      scope: "keys.create",
      key,
      request: input,
      newId: () => newId("key"),
      load: (sql, id) => this.keyIn(sql, id),
      create: async (sql, id) => {
        const settings = await this.settingsFor(sql, input);
        secret = newApiKeySecret();
        return this.insert(sql, id, secret, settings);
      },
    });
    if (created.replayed) throw secretAlreadyShown(key!, created.value.id);
    this.audit("api key created", created.value);
    return { key: created.value, secret };
  }

  async listKeys(input: ListKeysInput): Promise<Page<ApiKeyInfo>> {
    if (input.tenant_id !== undefined)
      await this.deps.tenants.tenantIn(this.deps.db, input.tenant_id, "tenant_id");
    if (input.project_id !== undefined)
      await this.deps.tenants.projectIn(this.deps.db, input.project_id, "project_id");
    const page = await listPage<ApiKeyRow>(this.deps.db, {
      table: "api_keys",
      columns: apiKeyColumns,
      filters: { tenant_id: input.tenant_id, project_id: input.project_id },
      limit: input.limit,
      after: input.after,
    });
    return { items: page.items.map(apiKeyFrom), hasMore: page.hasMore };
  }

  getKey(id: string): Promise<ApiKeyInfo> {
    return this.keyIn(this.deps.db, id);
  }

  async updateKey(id: string, input: UpdateKeyInput): Promise<ApiKeyInfo> {
    const assignments: string[] = [];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown) => assignments.push(`${column} = $${params.push(value)}`);
    if (input.name !== undefined) set("name", input.name);
    if (input.allowed_models !== undefined) set("allowed_models", input.allowed_models);
    if (input.metadata !== undefined) set("metadata", input.metadata);
    if (input.expires_at !== undefined) set("expires_at", this.expiry(input.expires_at));
    if (assignments.length === 0) return this.getKey(id);
    const [row] = await rows<ApiKeyRow>(
      this.deps.db,
      `UPDATE gateway.api_keys SET ${assignments.join(", ")} WHERE id = $1 RETURNING ${apiKeyColumns}`,
      params,
    );
    if (!row) throw notFound("API key", id);
    const key = apiKeyFrom(row);
    this.deps.invalidation.keyChanged({ apiKeyId: key.id, tenantId: key.tenantId });
    this.audit("api key updated", key, {
      fields: Object.entries(input)
        .filter(([, value]) => value !== undefined)
        .map(([field]) => field),
    });
    return key;
  }

  /** A new key with the old one's settings; the old one is revoked once the grace period is over. */
  async rotateKey(
    id: string,
    input: RotateKeyInput,
    key?: string,
  ): Promise<IssuedKey & { previous: ApiKeyInfo }> {
    let secret = "";
    let previous: ApiKeyInfo | undefined;
    const created = await idempotentCreate(this.deps.db, {
      scope: `keys.rotate:${id}`,
      key,
      request: input,
      newId: () => newId("key"),
      load: (sql, newKeyId) => this.keyIn(sql, newKeyId),
      create: async (sql, newKeyId) => {
        const old = await this.lockForRotation(sql, id);
        secret = newApiKeySecret();
        const fresh = await this.insert(sql, newKeyId, secret, { ...old, rotatedFrom: old.id });
        const [row] = await rows<ApiKeyRow>(
          sql,
          `UPDATE gateway.api_keys SET revoked_at = now() + make_interval(secs => $2)
            WHERE id = $1 RETURNING ${apiKeyColumns}`,
          [id, input.grace_period_seconds],
        );
        previous = apiKeyFrom(row!);
        return fresh;
      },
    });
    if (created.replayed) throw secretAlreadyShown(key!, created.value.id);
    this.deps.invalidation.keyChanged({ apiKeyId: id, tenantId: created.value.tenantId });
    this.audit("api key rotated", created.value, {
      rotatedFrom: id,
      gracePeriodSeconds: input.grace_period_seconds,
    });
    return { key: created.value, secret, previous: previous! };
  }

  /** Revokes at once (ending a grace period early too); revoking a revoked key changes nothing. */
  async revokeKey(id: string): Promise<ApiKeyInfo> {
    const [row] = await rows<ApiKeyRow>(
      this.deps.db,
      `UPDATE gateway.api_keys SET revoked_at = now()
        WHERE id = $1 AND (revoked_at IS NULL OR revoked_at > now()) RETURNING ${apiKeyColumns}`,
      [id],
    );
    if (!row) return this.getKey(id);
    const key = apiKeyFrom(row);
    this.deps.invalidation.keyChanged({ apiKeyId: key.id, tenantId: key.tenantId });
    this.audit("api key revoked", key);
    return key;
  }

  private audit(message: string, key: ApiKeyInfo, extra: Record<string, unknown> = {}): void {
    this.deps.logger.info(
      { apiKeyId: key.id, tenantId: key.tenantId, projectId: key.projectId, keyPrefix: key.prefix, ...extra },
      message,
    );
  }

  async keyIn(sql: Sql, id: string): Promise<ApiKeyInfo> {
    const [row] = await rows<ApiKeyRow>(sql, `SELECT ${apiKeyColumns} FROM gateway.api_keys WHERE id = $1`, [
      id,
    ]);
    if (!row) throw notFound("API key", id);
    return apiKeyFrom(row);
  }

  private async settingsFor(sql: Sql, input: CreateKeyInput): Promise<KeySettings> {
    const expiresAt = this.expiry(input.expires_at) ?? undefined;
    let tenantId = input.tenant_id;
    const projectId = input.project_id ?? undefined;
    if (projectId !== undefined) {
      const project = await this.deps.tenants.projectIn(sql, projectId, "project_id");
      if (tenantId !== undefined && tenantId !== project.tenantId)
        throw new StrataError(
          "invalid_request",
          `Project '${projectId}' belongs to tenant '${project.tenantId}', not '${tenantId}'.`,
          { param: "project_id" },
        );
      tenantId = project.tenantId;
    }
    if (tenantId === undefined)
      throw new StrataError("invalid_request", "Missing required parameter: 'tenant_id' (or 'project_id').", {
        param: "tenant_id",
      });
    await this.deps.tenants.tenantIn(sql, tenantId, "tenant_id");
    return {
      tenantId,
      projectId,
      name: input.name,
      allowedModels: input.allowed_models ?? undefined,
      metadata: input.metadata,
      expiresAt,
    };
  }

  private async insert(sql: Sql, id: string, secret: string, settings: KeySettings): Promise<ApiKeyInfo> {
    const [row] = await rows<ApiKeyRow>(
      sql,
      `INSERT INTO gateway.api_keys
         (id, tenant_id, project_id, name, key_hash, key_prefix, allowed_models, metadata, expires_at, rotated_from)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${apiKeyColumns}`,
      [
        id,
        settings.tenantId,
        settings.projectId ?? null,
        settings.name,
        hashApiKey(secret, this.deps.hashKey),
        keyPrefix(secret),
        settings.allowedModels ?? null,
        settings.metadata,
        settings.expiresAt ?? null,
        settings.rotatedFrom ?? null,
      ],
    );
    return apiKeyFrom(row!);
  }

  /** The key to rotate, locked so two rotations cannot both succeed; refuses keys that cannot be rotated. */
  private async lockForRotation(sql: Sql, id: string): Promise<ApiKeyInfo> {
    const [row] = await rows<ApiKeyRow>(
      sql,
      `SELECT ${apiKeyColumns} FROM gateway.api_keys WHERE id = $1 FOR UPDATE`,
      [id],
    );
    if (!row) throw notFound("API key", id);
    const old = apiKeyFrom(row);
    const status = keyStatus(old, this.now());
    if (status === "revoked" || status === "expired")
      throw new StrataError(
        "failed_precondition",
        `The API key '${id}' is ${status} and cannot be rotated; create a new key instead.`,
      );
    const [successor] = await rows<{ id: string }>(
      sql,
      "SELECT id FROM gateway.api_keys WHERE rotated_from = $1",
      [id],
    );
    if (successor)
      throw new StrataError(
        "failed_precondition",
        `The API key '${id}' was already rotated into '${successor.id}'; rotate that key instead.`,
      );
    return old;
  }

  /** Unix seconds → Date, refusing times already past; null and undefined pass through. */
  private expiry(seconds: number | null | undefined): Date | null | undefined {
    if (seconds === null || seconds === undefined) return seconds;
    if (seconds * 1000 <= this.now())
      throw new StrataError("invalid_request", "Invalid value for 'expires_at': must be in the future.", {
        param: "expires_at",
      });
    return new Date(seconds * 1000);
  }
}

function secretAlreadyShown(idempotencyKey: string, keyId: string): StrataError {
  return new StrataError(
    "conflict",
    `The request with Idempotency-Key '${idempotencyKey}' already created the API key '${keyId}'. ` +
      "Its secret was shown only once; rotate or revoke that key if the secret was lost.",
    { param: "Idempotency-Key" },
  );
}
