import { StrataError } from "@strata/kit";
import type { EffectiveLimits, LimitScope } from "../limits/limit-settings.js";
import type { BudgetNotifier } from "./budget-notifier.js";
import { type BudgetPeriod, BudgetPeriods } from "./budget-period.js";
import { type SpendCounters, type SpendTotals, totalsIn } from "./spend-counters.js";

export interface BudgetGuardOptions {
  counters: SpendCounters;
  notifier: Pick<BudgetNotifier, "notify">;
  now?: () => number;
}

type Budgets = Pick<
  EffectiveLimits,
  "dailyBudgetUsd" | "dailySoftBudgetUsd" | "monthlyBudgetUsd" | "monthlySoftBudgetUsd"
>;

/**
 * Spend budgets per tenant and per key, per UTC day and month. A hard budget refuses requests before
 * any work once it is spent; a soft one publishes a notice once per period. Spend is known only when a
 * request ends, so requests in flight when a budget runs out still finish (and are charged).
 */
export class BudgetGuard {
  private readonly periods = new BudgetPeriods();
  private readonly now: () => number;

  constructor(private readonly options: BudgetGuardOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Throws insufficient_quota when the tenant's or key's hard budget for today or this month is spent. */
  check(tenantId: string, keyId: string, tenant: Budgets, key: Budgets): void {
    const tenantLimited = tenant.dailyBudgetUsd > 0 || tenant.monthlyBudgetUsd > 0;
    const keyLimited = key.dailyBudgetUsd > 0 || key.monthlyBudgetUsd > 0;
    if (!tenantLimited && !keyLimited) return;
    const now = this.now();
    const period = this.periods.at(now);
    const { counters } = this.options;
    if (tenantLimited) {
      const spent = totalsIn(counters.lookup("tenant", tenantId, tenantId, now), period);
      refuseIfSpent("tenant", tenantId, spent, tenant, period);
    }
    if (keyLimited) {
      const spent = totalsIn(counters.lookup("key", keyId, tenantId, now), period);
      refuseIfSpent("key", keyId, spent, key, period);
    }
  }

  /** Counts a finished request's cost; publishes the budget notices it triggers. */
  async record(
    tenantId: string,
    keyId: string,
    costUsd: number,
    tenant: Budgets,
    key: Budgets,
  ): Promise<void> {
    if (!(costUsd > 0)) return;
    const period = this.periods.at(this.now());
    const totals = await this.options.counters.add(tenantId, keyId, costUsd, period);
    // Most requests are below every budget: no notice to send, nothing more to allocate.
    if (reached(totals.tenant, tenant)) {
      await this.noticeIfReached(tenantId, "tenant", tenantId, totals.tenant, tenant, period);
    }
    if (reached(totals.key, key)) await this.noticeIfReached(tenantId, "key", keyId, totals.key, key, period);
  }

  private async noticeIfReached(
    tenantId: string,
    scope: LimitScope,
    scopeId: string,
    spent: SpendTotals,
    budgets: Budgets,
    period: BudgetPeriod,
  ): Promise<void> {
    const checks = [
      ["day", "soft", budgets.dailySoftBudgetUsd, spent.day],
      ["day", "hard", budgets.dailyBudgetUsd, spent.day],
      ["month", "soft", budgets.monthlySoftBudgetUsd, spent.month],
      ["month", "hard", budgets.monthlyBudgetUsd, spent.month],
    ] as const;
    for (const [periodName, limitKind, limitUsd, spentUsd] of checks) {
      if (limitUsd <= 0 || spentUsd < limitUsd) continue;
      await this.options.notifier.notify({
        tenantId,
        scope,
        scopeId,
        period: periodName,
        periodStart: periodName === "day" ? period.dayLabel : period.monthLabel,
        periodEndMs: periodName === "day" ? period.dayEndMs : period.monthEndMs,
        limitKind,
        limitUsd,
        spentUsd,
      });
    }
  }
}

const over = (limit: number, value: number) => limit > 0 && value >= limit;

function reached(spent: SpendTotals, budgets: Budgets): boolean {
  return (
    over(budgets.dailySoftBudgetUsd, spent.day) ||
    over(budgets.dailyBudgetUsd, spent.day) ||
    over(budgets.monthlySoftBudgetUsd, spent.month) ||
    over(budgets.monthlyBudgetUsd, spent.month)
  );
}

function refuseIfSpent(
  scope: LimitScope,
  id: string,
  spent: SpendTotals,
  budgets: Budgets,
  period: BudgetPeriod,
): void {
  if (budgets.dailyBudgetUsd > 0 && spent.day >= budgets.dailyBudgetUsd) {
    throw budgetError(
      scope,
      id,
      "daily",
      budgets.dailyBudgetUsd,
      spent.day,
      period.dayLabel,
      period.dayEndMs,
    );
  }
  if (budgets.monthlyBudgetUsd > 0 && spent.month >= budgets.monthlyBudgetUsd) {
    throw budgetError(
      scope,
      id,
      "monthly",
      budgets.monthlyBudgetUsd,
      spent.month,
      period.monthLabel,
      period.monthEndMs,
    );
  }
}

function budgetError(
  scope: LimitScope,
  id: string,
  kind: "daily" | "monthly",
  limitUsd: number,
  spentUsd: number,
  periodLabel: string,
  resetsAtMs: number,
): StrataError {
  const owner = scope === "key" ? `API key ${id}` : `tenant ${id}`;
  return new StrataError(
    "insufficient_quota",
    `You exceeded your current quota: the ${kind} budget of ${owner} is $${limitUsd} and $${spentUsd.toFixed(4)} ` +
      `has been spent (UTC ${kind === "daily" ? "day" : "month"} ${periodLabel}). Requests are refused until it ` +
      `resets at ${new Date(resetsAtMs).toISOString()} or the budget is raised.`,
  );
}
