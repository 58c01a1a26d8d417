import { type Database, StrataError } from "@strata/kit";
import { bearerToken, hashApiKey, newApiKeySecret, newId } from "./api-key-secret.js";

/** Who is calling: attached to every request once its key checks out. */
export interface AuthContext {
  tenantId: string;
  apiKeyId: string;
}

interface CachedKey {
  auth: AuthContext | undefined;
  expiresAt: number;
  /** Keys that expire in Postgres must stop working here too, even while cached. */
  keyExpiresAt: number;
}

export interface ApiKeyStoreOptions {
  db: Database;
  hashKey: string;
  /** How long a lookup is trusted; revocation takes at most this long to reach this replica. */
  cacheTtlMs: number;
  /** Unknown keys are remembered for a shorter time, so a bad key cannot hammer Postgres. */
  negativeCacheTtlMs?: number;
  maxCacheEntries?: number;
  now?: () => number;
}

export class ApiKeyStore {
  private readonly cache = new Map<string, CachedKey>();
  private readonly now: () => number;

  constructor(private readonly options: ApiKeyStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Checks a bearer credential and returns who it belongs to, or throws 401. */
  async authenticate(authorization: string | undefined): Promise<AuthContext> {
    const secret = bearerToken(authorization);
    if (!secret) {
      throw new StrataError(
        "invalid_api_key",
        "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'.",
      );
    }
    const auth = await this.lookup(secret);
    if (!auth) throw new StrataError("invalid_api_key", `Incorrect API key provided: ${redact(secret)}.`);
    return auth;
  }

  private async lookup(secret: string): Promise<AuthContext | undefined> {
    const now = this.now();
    const cached = this.cache.get(secret);
    if (cached && cached.expiresAt > now) return cached.keyExpiresAt > now ? cached.auth : undefined;
    const result = await this.options.db.query<{ id: string; tenant_id: string; expires_at: Date | null }>(
      `SELECT id, tenant_id, expires_at FROM gateway.api_keys
        WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
      [hashApiKey(secret, this.options.hashKey)],
    );
    const row = result.rows[0];
    const auth = row ? { tenantId: row.tenant_id, apiKeyId: row.id } : undefined;
    const ttl = auth ? this.options.cacheTtlMs : (this.options.negativeCacheTtlMs ?? 2_000);
    if (this.cache.size >= (this.options.maxCacheEntries ?? 100_000)) this.cache.clear();
    this.cache.set(secret, {
      auth,
      expiresAt: now + ttl,
      keyExpiresAt: row?.expires_at ? row.expires_at.getTime() : Number.POSITIVE_INFINITY,
    });
    return auth;
  }

  /** Forgets cached lookups, e.g. after a key was revoked. */
  invalidate(): void {
    this.cache.clear();
  }

  async ensureTenant(name: string): Promise<string> {
    const result = await this.options.db.query<{ id: string }>(
      `INSERT INTO gateway.tenants (id, name) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
      [newId("ten"), name],
    );
    return result.rows[0]!.id;
  }

  /** Creates a key and returns its secret, which exists nowhere else afterwards. */
  async createKey(tenantId: string, name: string, expiresAt?: Date): Promise<{ id: string; secret: string }> {
    const secret = newApiKeySecret();
    const id = newId("key");
    await this.options.db.query(
      `INSERT INTO gateway.api_keys (id, tenant_id, name, key_hash, key_prefix, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, tenantId, name, hashApiKey(secret, this.options.hashKey), secret.slice(0, 14), expiresAt ?? null],
    );
    return { id, secret };
  }

  async revokeKey(id: string): Promise<void> {
    await this.options.db.query("UPDATE gateway.api_keys SET revoked_at = now() WHERE id = $1", [id]);
    this.invalidate();
  }
}

function redact(secret: string): string {
  return secret.length <= 8 ? "****" : `${secret.slice(0, 3)}****${secret.slice(-4)}`;
}
