import { z } from "zod";

/** How spend is counted; the budgets themselves are limits (`limits` defaults and stored overrides). */
export const budgetConfigSchema = z
  .object({
    /**
     * With Redis, how stale a replica's copy of a tenant's or key's spend may get before it is
     * re-read (in the background: the check itself never waits on Redis).
     */
    syncIntervalMs: z.coerce.number().int().min(50).default(1_000),
  })
  .strict()
  .default({ syncIntervalMs: 1_000 });

export type BudgetConfig = z.output<typeof budgetConfigSchema>;

export const budgetEnv = { "budgets.syncIntervalMs": "GATEWAY_BUDGET_SYNC_INTERVAL_MS" } as const;
