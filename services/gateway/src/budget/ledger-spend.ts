import type { Database } from "@strata/kit";
import type { BudgetPeriod } from "./budget-period.js";
import type { SpendSeed } from "./spend-counters.js";

/**
 * This day's and month's spend per tenant and per key, summed from the ledger: how the counters are
 * rebuilt at start-up. Uses the (started_at) index; only this month's priced rows are read.
 */
export async function spendFromLedger(
  db: Pick<Database, "query">,
  period: BudgetPeriod,
): Promise<SpendSeed[]> {
  const result = await db.query<{ tenant_id: string; api_key_id: string; day: number; month: number }>(
    `SELECT tenant_id, api_key_id,
            coalesce(sum(cost_usd) FILTER (WHERE started_at >= $2), 0)::double precision AS day,
            sum(cost_usd)::double precision AS month
       FROM gateway.usage_ledger
      WHERE started_at >= $1 AND started_at < $3 AND cost_usd > 0
      GROUP BY tenant_id, api_key_id`,
    [new Date(period.monthStartMs), new Date(period.dayStartMs), new Date(period.monthEndMs)],
  );
  const tenants = new Map<string, SpendSeed>();
  const seeds: SpendSeed[] = [];
  for (const row of result.rows) {
    const day = Number(row.day);
    const month = Number(row.month);
    seeds.push({ scope: "key", id: row.api_key_id, tenantId: row.tenant_id, day, month });
    const tenant = tenants.get(row.tenant_id);
    if (tenant) {
      tenant.day += day;
      tenant.month += month;
    } else {
      tenants.set(row.tenant_id, { scope: "tenant", id: row.tenant_id, tenantId: row.tenant_id, day, month });
    }
  }
  return [...tenants.values(), ...seeds];
}
