import { create, toBinary } from "@bufbuild/protobuf";
import type { BroadcastSubscription, Bus, Database, Logger } from "@strata/kit";
import { gatewayEventsV1, limitsChangedSubject } from "@strata/proto";
import {
  type EffectiveLimits,
  type LimitScope,
  type LimitSettings,
  limitFieldNames,
  limitFields,
  resolveLimits,
} from "./limit-settings.js";

type LimitRow = { scope: LimitScope; scope_id: string; updated_at: Date } & Record<string, number | null>;

export interface LimitSettingsStoreOptions {
  db: Pick<Database, "query">;
  defaults: Record<LimitScope, LimitSettings>;
  /** How often the whole table is re-read, picking up changes made through other replicas. */
  refreshIntervalMs: number;
  /** Tells the other replicas when overrides change, so they re-read them at once. */
  bus?: Pick<Bus, "broadcast" | "subscribe">;
  logger: Logger;
}

/**
 * The effective limits of every tenant and key, held in memory: the request path reads a Map and never
 * the database. Overrides are few (most tenants and keys use the defaults), so the table is re-read
 * whole every refresh interval, and at once when a replica announces a change, rather than tracked
 * row by row. A missed announcement (NATS core is at most once) costs one refresh interval.
 */
export class LimitSettingsStore {
  private overrides: Record<LimitScope, Map<string, EffectiveLimits>> = { tenant: new Map(), key: new Map() };
  private readonly defaults: Record<LimitScope, EffectiveLimits>;
  private timer: NodeJS.Timeout | undefined;
  /** Counts local writes, so a re-read that began before one cannot undo it. */
  private writes = 0;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private subscription: BroadcastSubscription | undefined;

  constructor(private readonly options: LimitSettingsStoreOptions) {
    this.defaults = {
      tenant: resolveLimits(undefined, options.defaults.tenant),
      key: resolveLimits(undefined, options.defaults.key),
    };
  }

  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => this.requestReload(), this.options.refreshIntervalMs);
    this.timer.unref();
    this.subscription = this.options.bus?.subscribe(limitsChangedSubject, () => this.requestReload());
  }

  forTenant(id: string): EffectiveLimits {
    return this.overrides.tenant.get(id) ?? this.defaults.tenant;
  }

  forKey(id: string): EffectiveLimits {
    return this.overrides.key.get(id) ?? this.defaults.key;
  }

  effective(scope: LimitScope, id: string): EffectiveLimits {
    return scope === "tenant" ? this.forTenant(id) : this.forKey(id);
  }

  /** The stored overrides of one tenant or key (empty when it has none). */
  async read(scope: LimitScope, id: string): Promise<{ overrides: LimitSettings; updatedAt: Date | null }> {
    const result = await this.options.db.query<LimitRow>(
      "SELECT * FROM gateway.limits WHERE scope = $1 AND scope_id = $2",
      [scope, id],
    );
    const row = result.rows[0];
    return { overrides: row ? settingsOf(row) : {}, updatedAt: row?.updated_at ?? null };
  }

  /** Replaces the overrides of one tenant or key; empty settings remove them (back to the defaults). */
  async write(scope: LimitScope, id: string, settings: LimitSettings): Promise<{ updatedAt: Date | null }> {
    const values = limitFields.map((field) => settings[field] ?? null);
    let updatedAt: Date | null = null;
    if (values.every((value) => value === null)) {
      await this.options.db.query("DELETE FROM gateway.limits WHERE scope = $1 AND scope_id = $2", [
        scope,
        id,
      ]);
      this.overrides[scope].delete(id);
    } else {
      const names = limitFields.map((field) => limitFieldNames[field]);
      const result = await this.options.db.query<{ updated_at: Date }>(
        `INSERT INTO gateway.limits (scope, scope_id, ${names.join(", ")})
         VALUES ($1, $2, ${names.map((_, index) => `$${index + 3}`).join(", ")})
         ON CONFLICT (scope, scope_id) DO UPDATE SET
           ${names.map((name) => `${name} = EXCLUDED.${name}`).join(", ")}, updated_at = now()
         RETURNING updated_at`,
        [scope, id, ...values],
      );
      updatedAt = result.rows[0]!.updated_at;
      this.overrides[scope].set(id, resolveLimits(settings, this.options.defaults[scope]));
    }
    this.writes++;
    this.announce(scope, id);
    return { updatedAt };
  }

  private announce(scope: LimitScope, id: string): void {
    if (!this.options.bus) return;
    try {
      const message = create(gatewayEventsV1.LimitsChangedSchema, { scope, scopeId: id });
      this.options.bus.broadcast(
        limitsChangedSubject,
        toBinary(gatewayEventsV1.LimitsChangedSchema, message),
      );
    } catch (error) {
      this.options.logger.warn(
        { err: error, scope, id },
        "limits change not announced; replicas catch up on refresh",
      );
    }
  }

  /** One re-read at a time; a request meanwhile runs one more after it, so no change is missed. */
  private requestReload(): void {
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = this.reload()
      .catch((error: unknown) =>
        this.options.logger.warn(
          { err: error },
          "limit overrides could not be re-read; keeping the last ones",
        ),
      )
      .finally(() => {
        this.reloading = undefined;
        if (this.reloadAgain) {
          this.reloadAgain = false;
          this.requestReload();
        }
      });
  }

  private async reload(): Promise<void> {
    const writes = this.writes;
    const result = await this.options.db.query<LimitRow>("SELECT * FROM gateway.limits");
    const next: Record<LimitScope, Map<string, EffectiveLimits>> = { tenant: new Map(), key: new Map() };
    for (const row of result.rows) {
      next[row.scope].set(row.scope_id, resolveLimits(settingsOf(row), this.options.defaults[row.scope]));
    }
    if (writes === this.writes) this.overrides = next;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.subscription?.stop();
    await this.reloading;
  }
}

function settingsOf(row: LimitRow): LimitSettings {
  const settings: LimitSettings = {};
  for (const field of limitFields) {
    const value = row[limitFieldNames[field]];
    if (value !== null && value !== undefined) settings[field] = Number(value);
  }
  return settings;
}
