const DAY_MS = 86_400_000;

/** The UTC day and month a moment falls in, with their bounds, for spend counters. */
export interface BudgetPeriod {
  /** Days since the epoch: a number, so comparing periods allocates nothing. */
  readonly day: number;
  /** "2025-05-01" */
  readonly dayLabel: string;
  readonly dayStartMs: number;
  readonly dayEndMs: number;
  /** Months since year 0 (year × 12 + month index). */
  readonly month: number;
  /** "2025-05" */
  readonly monthLabel: string;
  readonly monthStartMs: number;
  readonly monthEndMs: number;
}

/** The current period, recomputed only when a day boundary passes (the hot path just compares). */
export class BudgetPeriods {
  private current: BudgetPeriod | undefined;

  at(nowMs: number): BudgetPeriod {
    const current = this.current;
    if (current && nowMs >= current.dayStartMs && nowMs < current.dayEndMs) return current;
    this.current = budgetPeriod(nowMs);
    return this.current;
  }
}

export function budgetPeriod(nowMs: number): BudgetPeriod {
  const date = new Date(nowMs);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const day = Math.floor(nowMs / DAY_MS);
  const dayLabel = new Date(day * DAY_MS).toISOString().slice(0, 10);
  return {
    day,
    dayLabel,
    dayStartMs: day * DAY_MS,
    dayEndMs: (day + 1) * DAY_MS,
    month: year * 12 + month,
    monthLabel: dayLabel.slice(0, 7),
    monthStartMs: Date.UTC(year, month, 1),
    monthEndMs: Date.UTC(year, month + 1, 1),
  };
}
