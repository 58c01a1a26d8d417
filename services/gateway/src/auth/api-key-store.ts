import { type Database, type Logger, StrataError } from "@strata/kit";
import { ApiKeyCache, type KeyRecord } from "./api-key-cache.js";
import { bearerToken, hashApiKey, newApiKeySecret, newId } from "./api-key-secret.js";
import type { AuthContext } from "./auth-context.js";
import { LastUsedTracker } from "./last-used-tracker.js";

export type { AuthContext } from "./auth-context.js";

export interface ApiKeyStoreOptions {
  db: Database;
  hashKey: string;
  /**
   * How long a lookup is trusted. Revocations broadcast over the bus reach every replica at once; this
   * bounds how long one that was missed (a replica cut off from NATS) can take.
   */
  cacheTtlMs: number;
  /** Unknown keys are remembered for a shorter time, so a bad key cannot hammer Postgres. */
  negativeCacheTtlMs?: number;
  maxCacheEntries?: number;
  /** How often last_used_at is written for the keys used meanwhile. */
  lastUsedFlushMs?: number;
  logger?: Pick<Logger, "warn">;
  now?: () => number;
}

/** The columns of gateway.api_keys a key lookup reads, as `KeyRow`. */
export const keyColumns = "id, tenant_id, project_id, allowed_models, metadata, expires_at, revoked_at";

export interface KeyRow {
  id: string;
  tenant_id: string;
  project_id: string | null;
  allowed_models: string[] | null;
  metadata: Record<string, string> | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** Authenticates API keys: a keyed-hash lookup in Postgres behind a short-lived in-memory cache. */
export class ApiKeyStore {
  private readonly cache: ApiKeyCache;
  private readonly inFlight = new Map<string, Promise<KeyRecord | undefined>>();
  private readonly lastUsed: LastUsedTracker;
  private readonly now: () => number;

  constructor(private readonly options: ApiKeyStoreOptions) {
    this.now = options.now ?? Date.now;
    this.cache = new ApiKeyCache(options.maxCacheEntries ?? 100_000);
    this.lastUsed = new LastUsedTracker({
      db: options.db,
      logger: options.logger ?? { warn: () => {} },
      flushIntervalMs: options.lastUsedFlushMs ?? 10_000,
    });
  }

  /** Checks a bearer credential and returns who it belongs to, or throws 401 saying why. */
  async authenticate(authorization: string | undefined): Promise<AuthContext> {
    const secret = bearerToken(authorization);
    if (!secret) {
      throw new StrataError(
        "invalid_api_key",
        "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'.",
      );
    }
    const now = this.now();
    const cached = this.cache.get(secret, now);
    const record = cached ? cached.record : await this.lookup(secret, now);
    if (!record) throw new StrataError("invalid_api_key", `Incorrect API key provided: ${redact(secret)}.`);
    if (record.revokedAt !== undefined && record.revokedAt <= now)
      throw new StrataError("invalid_api_key", `The API key ${redact(secret)} has been revoked.`);
    const expiresAt = record.auth.expiresAt;
    if (expiresAt !== undefined && expiresAt <= now) {
      throw new StrataError(
        "invalid_api_key",
        `The API key ${redact(secret)} expired at ${new Date(expiresAt).toISOString()}.`,
      );
    }
    this.lastUsed.touch(record.auth.apiKeyId);
    return record.auth;
  }

  /** Drops the cached lookup of one key, so its next use reads Postgres (after a revoke, rotate or edit). */
  forget(apiKeyId: string): void {
    this.cache.drop(apiKeyId);
  }

  /** Writes pending last-used stamps; call on shutdown. */
  close(): Promise<void> {
    return this.lastUsed.flush();
  }

  private lookup(secret: string, now: number): Promise<KeyRecord | undefined> {
    // Concurrent first uses of one key share a single query.
    let pending = this.inFlight.get(secret);
    if (!pending) {
      pending = this.read(secret, now).finally(() => this.inFlight.delete(secret));
      this.inFlight.set(secret, pending);
    }
    return pending;
  }

  private async read(secret: string, now: number): Promise<KeyRecord | undefined> {
    const generation = this.cache.currentGeneration;
    const result = await this.options.db.query<KeyRow>(
      `SELECT ${keyColumns} FROM gateway.api_keys WHERE key_hash = $1`,
      [hashApiKey(secret, this.options.hashKey)],
    );
    const row = result.rows[0];
    const record = row ? recordFrom(row) : undefined;
    const ttl = record ? this.options.cacheTtlMs : (this.options.negativeCacheTtlMs ?? 2_000);
    this.cache.set(secret, record, now + ttl, generation);
    return record;
  }

  /** The tenant with this name, created when missing (the local runner's "dev" tenant). */
  async ensureTenant(name: string): Promise<string> {
    const result = await this.options.db.query<{ id: string }>(
      `INSERT INTO gateway.tenants (id, name) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
      [newId("ten"), name],
    );
    return result.rows[0]!.id;
  }

  /** Creates a key with every model allowed and returns its secret, which exists nowhere else afterwards. */
  async createKey(tenantId: string, name: string, expiresAt?: Date): Promise<{ id: string; secret: string }> {
    const secret = newApiKeySecret();
    const id = newId("key");
    await this.options.db.query(
      `INSERT INTO gateway.api_keys (id, tenant_id, name, key_hash, key_prefix, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, tenantId, name, hashApiKey(secret, this.options.hashKey), keyPrefix(secret), expiresAt ?? null],
    );
    return { id, secret };
  }
}

/** The stored, displayable start of a secret: the fixed prefix and four random characters. */
export function keyPrefix(secret: string): string {
  return secret.slice(0, 14);
}

export function recordFrom(row: KeyRow): KeyRecord {
  return {
    auth: {
      tenantId: row.tenant_id,
      apiKeyId: row.id,
      projectId: row.project_id ?? undefined,
      allowedModels: row.allowed_models ?? undefined,
      metadata: row.metadata ?? {},
      expiresAt: row.expires_at?.getTime(),
    },
    revokedAt: row.revoked_at?.getTime(),
  };
}

function redact(secret: string): string {
  return secret.length <= 8 ? "****" : `${secret.slice(0, 3)}****${secret.slice(-4)}`;
}
