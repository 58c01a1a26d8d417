import type { LimitScope } from "../limits/limit-settings.js";
import type { BudgetPeriod } from "./budget-period.js";

/** What a tenant or key has spent in the day and month it last spent in. */
export interface SpendEntry {
  day: number;
  daySpend: number;
  month: number;
  monthSpend: number;
}

/** Spend in the current period (0 when the entry is from an earlier one). */
export interface SpendTotals {
  day: number;
  month: number;
}

/** One tenant's or key's spend so far this period, summed from the ledger at start-up. */
export interface SpendSeed {
  scope: LimitScope;
  id: string;
  tenantId: string;
  day: number;
  month: number;
}

/**
 * Spend per tenant and per key for the current UTC day and month. `lookup` is synchronous and reads
 * memory only, so the budget check on the hot path never waits; a shared store keeps that memory
 * fresh in the background.
 */
export interface SpendCounters {
  lookup(scope: LimitScope, id: string, tenantId: string, now: number): SpendEntry | undefined;
  /** Adds one request's cost to its tenant and key; resolves with their new totals for the period. */
  add(
    tenantId: string,
    keyId: string,
    costUsd: number,
    period: BudgetPeriod,
  ): Promise<{ tenant: SpendTotals; key: SpendTotals }>;
  /** Loads the ledger's sums for the current period (start-up). */
  seed(seeds: SpendSeed[], period: BudgetPeriod): Promise<void>;
  close(): Promise<void>;
}

export function totalsIn(entry: SpendEntry | undefined, period: BudgetPeriod): SpendTotals {
  return {
    day: entry && entry.day === period.day ? entry.daySpend : 0,
    month: entry && entry.month === period.month ? entry.monthSpend : 0,
  };
}

/** Adds to an entry in place, starting afresh when the period moved on. */
export function addTo(entry: SpendEntry, costUsd: number, period: BudgetPeriod): void {
  if (entry.day !== period.day) {
    entry.day = period.day;
    entry.daySpend = 0;
  }
  if (entry.month !== period.month) {
    entry.month = period.month;
    entry.monthSpend = 0;
  }
  entry.daySpend += costUsd;
  entry.monthSpend += costUsd;
}
