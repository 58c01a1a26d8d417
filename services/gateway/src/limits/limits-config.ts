import { z } from "zod";
import { limitSettingsSchema } from "./limit-settings.js";

/**
 * Default limits of every tenant and every key, before the per-tenant and per-key overrides stored
 * through the admin API. Nothing set means nothing limited.
 */
export const limitsConfigSchema = z
  .object({
    tenant: limitSettingsSchema.default({}),
    key: limitSettingsSchema.default({}),
    /**
     * How often each replica re-reads the stored overrides. The replica that takes a change applies it
     * at once; the others within this interval.
     */
    refreshIntervalMs: z.coerce.number().int().min(100).default(10_000),
  })
  .strict()
  .default({ tenant: {}, key: {}, refreshIntervalMs: 10_000 });

export type LimitsConfig = z.output<typeof limitsConfigSchema>;

const envNames = {
  requestsPerMinute: "RPM",
  tokensPerMinute: "TPM",
  concurrentRequests: "CONCURRENCY",
  dailyBudgetUsd: "DAILY_BUDGET_USD",
  dailySoftBudgetUsd: "DAILY_SOFT_BUDGET_USD",
  monthlyBudgetUsd: "MONTHLY_BUDGET_USD",
  monthlySoftBudgetUsd: "MONTHLY_SOFT_BUDGET_USD",
} as const;

/** GATEWAY_LIMIT_TENANT_RPM, GATEWAY_LIMIT_KEY_DAILY_BUDGET_USD, ... */
export const limitsEnv: Record<string, string> = {
  "limits.refreshIntervalMs": "GATEWAY_LIMITS_REFRESH_MS",
  ...Object.fromEntries(
    (["tenant", "key"] as const).flatMap((scope) =>
      Object.entries(envNames).map(([field, name]) => [
        `limits.${scope}.${field}`,
        `GATEWAY_LIMIT_${scope.toUpperCase()}_${name}`,
      ]),
    ),
  ),
};
