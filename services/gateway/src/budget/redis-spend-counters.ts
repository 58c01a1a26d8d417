import type { Redis } from "ioredis";
import type { LimitScope } from "../limits/limit-settings.js";
import type { BackendErrorReporter } from "../ratelimit/backend-errors.js";
import { type BudgetPeriod, BudgetPeriods } from "./budget-period.js";
import { addTo, type SpendCounters, type SpendEntry, type SpendSeed, totalsIn } from "./spend-counters.js";

interface MirroredEntry extends SpendEntry {
  refreshedAt: number;
  refreshing: boolean;
}

export interface RedisSpendCountersOptions {
  redis: Pick<Redis, "multi" | "mget" | "pipeline">;
  keyPrefix: string;
  /** How stale a mirrored entry may get before a lookup re-reads it (in the background). */
  syncIntervalMs: number;
  errors: Pick<BackendErrorReporter, "report">;
  now?: () => number;
}

/** Counter keys outlive their period by a day, so a late reader still finds the final figure. */
const GRACE_MS = 86_400_000;

/**
 * Spend shared by every replica: counters in Redis (INCRBYFLOAT, atomic), mirrored in memory for the
 * check. A replica sees other replicas' spend within `syncIntervalMs` of its last look; a budget can
 * therefore be overshot by what is spent in that time, as any post-paid budget is by requests in flight.
 */
export class RedisSpendCounters implements SpendCounters {
  private readonly mirror: Record<LimitScope, Map<string, MirroredEntry>> = {
    tenant: new Map(),
    key: new Map(),
  };
  private readonly periods = new BudgetPeriods();
  private readonly now: () => number;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly options: RedisSpendCountersOptions) {
    this.now = options.now ?? Date.now;
  }

  lookup(scope: LimitScope, id: string, tenantId: string, now: number): SpendEntry | undefined {
    const entry = this.entry(scope, id);
    if (!entry.refreshing && now - entry.refreshedAt >= this.options.syncIntervalMs) {
      this.refresh(scope, id, tenantId, entry, this.periods.at(now));
    }
    return entry;
  }

  async add(tenantId: string, keyId: string, costUsd: number, period: BudgetPeriod) {
    const tenant = this.entry("tenant", tenantId);
    const key = this.entry("key", keyId);
    const now = this.now();
    const keys = [
      ...this.keysOf("tenant", tenantId, tenantId, period),
      ...this.keysOf("key", keyId, tenantId, period),
    ];
    const ttls = [period.dayEndMs, period.monthEndMs, period.dayEndMs, period.monthEndMs].map(
      (end) => end - now + GRACE_MS,
    );
    try {
      const transaction = this.options.redis.multi();
      for (const [index, counter] of keys.entries()) {
        transaction.incrbyfloat(counter, costUsd).pexpire(counter, ttls[index]!);
      }
      const results = (await transaction.exec()) ?? [];
      const value = (index: number) => Number(results[index * 2]?.[1]);
      set(tenant, period, value(0), value(1), now);
      set(key, period, value(2), value(3), now);
    } catch (error) {
      // Counted here at least, so this replica still enforces what it served; the next refresh that
      // reaches Redis replaces the figure with the shared one.
      this.options.errors.report("spend", error, "spend counted on this replica only");
      addTo(tenant, costUsd, period);
      addTo(key, costUsd, period);
    }
    return { tenant: totalsIn(tenant, period), key: totalsIn(key, period) };
  }

  /** Writes the ledger's sums where Redis has no counter (it was empty or lost them), then mirrors. */
  async seed(seeds: SpendSeed[], period: BudgetPeriod): Promise<void> {
    if (seeds.length === 0) return;
    const now = this.now();
    try {
      const pipeline = this.options.redis.pipeline();
      for (const seed of seeds) {
        const [dayKey, monthKey] = this.keysOf(seed.scope, seed.id, seed.tenantId, period);
        pipeline.set(dayKey, String(seed.day), "PX", period.dayEndMs - now + GRACE_MS, "NX");
        pipeline.set(monthKey, String(seed.month), "PX", period.monthEndMs - now + GRACE_MS, "NX");
        pipeline.mget(dayKey, monthKey);
      }
      const results = (await pipeline.exec()) ?? [];
      seeds.forEach((seed, index) => {
        const [day, month] = (results[index * 3 + 2]?.[1] ?? []) as (string | null)[];
        set(this.entry(seed.scope, seed.id), period, Number(day ?? 0), Number(month ?? 0), now);
      });
    } catch (error) {
      this.options.errors.report("spend-seed", error, "spend counters start from the ledger only");
      for (const seed of seeds) set(this.entry(seed.scope, seed.id), period, seed.day, seed.month, now);
    }
  }

  private refresh(
    scope: LimitScope,
    id: string,
    tenantId: string,
    entry: MirroredEntry,
    period: BudgetPeriod,
  ): void {
    entry.refreshing = true;
    const [dayKey, monthKey] = this.keysOf(scope, id, tenantId, period);
    const refreshing = this.options.redis
      .mget(dayKey, monthKey)
      .then(([day, month]) => set(entry, period, Number(day ?? 0), Number(month ?? 0), this.now()))
      .catch((error: unknown) => {
        // Try again after the interval rather than on every request while Redis is away.
        entry.refreshedAt = this.now();
        this.options.errors.report("spend-refresh", error, "budget checked against the last known spend");
      })
      .finally(() => {
        entry.refreshing = false;
      });
    this.pending.add(refreshing);
    void refreshing.finally(() => this.pending.delete(refreshing));
  }

  private entry(scope: LimitScope, id: string): MirroredEntry {
    let entry = this.mirror[scope].get(id);
    if (!entry) {
      entry = { day: -1, daySpend: 0, month: -1, monthSpend: 0, refreshedAt: -Infinity, refreshing: false };
      this.mirror[scope].set(id, entry);
    }
    return entry;
  }

  private keysOf(scope: LimitScope, id: string, tenantId: string, period: BudgetPeriod): [string, string] {
    // The tenant is the hash tag, so one request's four counters sit in one cluster slot (MULTI needs it).
    const base = `${this.options.keyPrefix}spend:{${tenantId}}:${scope === "tenant" ? "tenant" : `key:${id}`}`;
    return [`${base}:d:${period.dayLabel}`, `${base}:m:${period.monthLabel}`];
  }

  /** Waits for background refreshes (tests). */
  async flush(): Promise<void> {
    await Promise.all(this.pending);
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

function set(entry: MirroredEntry, period: BudgetPeriod, day: number, month: number, now: number): void {
  entry.day = period.day;
  entry.daySpend = Number.isFinite(day) ? day : 0;
  entry.month = period.month;
  entry.monthSpend = Number.isFinite(month) ? month : 0;
  entry.refreshedAt = now;
}
