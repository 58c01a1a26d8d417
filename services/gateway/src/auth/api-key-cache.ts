import type { AuthContext } from "./auth-context.js";

/** What a key lookup found: who the key belongs to and when it stops (or stopped) working. */
export interface KeyRecord {
  auth: AuthContext;
  /** Unix ms; in the future while a rotation's grace period runs. */
  revokedAt: number | undefined;
}

interface Entry {
  /** undefined: no such key (remembered briefly so a bad key cannot hammer Postgres). */
  record: KeyRecord | undefined;
  freshUntil: number;
}

/**
 * Key lookups by secret, each trusted for a short time. Entries can be dropped by key id (a key has one
 * secret), which is how a revocation reaches this replica before the entry would expire.
 */
export class ApiKeyCache {
  private readonly bySecret = new Map<string, Entry>();
  private readonly secretByKeyId = new Map<string, string>();
  /** Bumped on every drop: a lookup that started before a drop must not cache what it read. */
  private generation = 0;

  constructor(private readonly maxEntries: number) {}

  get(secret: string, now: number): Entry | undefined {
    const entry = this.bySecret.get(secret);
    if (!entry) return undefined;
    if (entry.freshUntil > now) return entry;
    this.delete(secret, entry);
    return undefined;
  }

  get currentGeneration(): number {
    return this.generation;
  }

  /** Stores a lookup unless some key was dropped since `generation` was read. */
  set(secret: string, record: KeyRecord | undefined, freshUntil: number, generation: number): void {
    if (generation !== this.generation) return;
    const previous = this.bySecret.get(secret);
    if (previous) this.delete(secret, previous);
    else if (this.bySecret.size >= this.maxEntries) this.evictOldest();
    this.bySecret.set(secret, { record, freshUntil });
    if (record) this.secretByKeyId.set(record.auth.apiKeyId, secret);
  }

  drop(apiKeyId: string): void {
    this.generation++;
    const secret = this.secretByKeyId.get(apiKeyId);
    if (secret === undefined) return;
    const entry = this.bySecret.get(secret);
    if (entry) this.delete(secret, entry);
    else this.secretByKeyId.delete(apiKeyId);
  }

  get size(): number {
    return this.bySecret.size;
  }

  private evictOldest(): void {
    // Maps iterate in insertion order, so the first entry is the one stored longest ago.
    for (const [secret, entry] of this.bySecret) {
      this.delete(secret, entry);
      return;
    }
  }

  private delete(secret: string, entry: Entry): void {
    this.bySecret.delete(secret);
    if (entry.record) this.secretByKeyId.delete(entry.record.auth.apiKeyId);
  }
}
