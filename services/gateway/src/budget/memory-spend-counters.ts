import type { LimitScope } from "../limits/limit-settings.js";
import type { BudgetPeriod } from "./budget-period.js";
import { addTo, type SpendCounters, type SpendEntry, type SpendSeed, totalsIn } from "./spend-counters.js";

/** Spend counted in this process: exact for a single gateway, rebuilt from the ledger on start. */
export class MemorySpendCounters implements SpendCounters {
  private readonly maps: Record<LimitScope, Map<string, SpendEntry>> = { tenant: new Map(), key: new Map() };
  private month = -1;

  lookup(scope: LimitScope, id: string): SpendEntry | undefined {
    return this.maps[scope].get(id);
  }

  add(tenantId: string, keyId: string, costUsd: number, period: BudgetPeriod) {
    this.forgetEarlierMonths(period);
    const tenant = this.entry("tenant", tenantId);
    const key = this.entry("key", keyId);
    addTo(tenant, costUsd, period);
    addTo(key, costUsd, period);
    return Promise.resolve({ tenant: totalsIn(tenant, period), key: totalsIn(key, period) });
  }

  async seed(seeds: SpendSeed[], period: BudgetPeriod): Promise<void> {
    for (const seed of seeds) {
      this.maps[seed.scope].set(seed.id, {
        day: period.day,
        daySpend: seed.day,
        month: period.month,
        monthSpend: seed.month,
      });
    }
    this.month = period.month;
  }

  private entry(scope: LimitScope, id: string): SpendEntry {
    let entry = this.maps[scope].get(id);
    if (!entry) {
      entry = { day: -1, daySpend: 0, month: -1, monthSpend: 0 };
      this.maps[scope].set(id, entry);
    }
    return entry;
  }

  /** Entries of a past month can never count again; dropping them keeps memory to this month's spenders. */
  private forgetEarlierMonths(period: BudgetPeriod): void {
    if (this.month === period.month) return;
    this.month = period.month;
    for (const map of Object.values(this.maps)) {
      for (const [id, entry] of map) if (entry.month !== period.month) map.delete(id);
    }
  }

  async close(): Promise<void> {}
}
