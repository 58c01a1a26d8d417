import { z } from "zod";

const count = z.coerce.number().int().min(0);
const usd = z.coerce.number().min(0).finite();

/**
 * The limits of one tenant or one API key. The same shape serves as the configured default and as a
 * stored override: a field left out inherits (override → default → none), and 0 means "no limit",
 * so an override can lift a default as well as tighten it.
 */
export const limitSettingsSchema = z
  .object({
    requestsPerMinute: count.optional(),
    /** Prompt plus completion tokens; estimated before the call, corrected after it. */
    tokensPerMinute: count.optional(),
    concurrentRequests: count.optional(),
    /** Spend per UTC day above which requests are refused. */
    dailyBudgetUsd: usd.optional(),
    /** Spend per UTC day at which a budget event is published (once a day), requests still served. */
    dailySoftBudgetUsd: usd.optional(),
    monthlyBudgetUsd: usd.optional(),
    monthlySoftBudgetUsd: usd.optional(),
  })
  .strict();

export type LimitSettings = z.output<typeof limitSettingsSchema>;

export const limitFields = [
  "requestsPerMinute",
  "tokensPerMinute",
  "concurrentRequests",
  "dailyBudgetUsd",
  "dailySoftBudgetUsd",
  "monthlyBudgetUsd",
  "monthlySoftBudgetUsd",
] as const satisfies readonly (keyof LimitSettings)[];

/** Each field's snake_case name: its column in gateway.limits and its key in the admin API. */
export const limitFieldNames: Record<(typeof limitFields)[number], string> = {
  requestsPerMinute: "requests_per_minute",
  tokensPerMinute: "tokens_per_minute",
  concurrentRequests: "concurrent_requests",
  dailyBudgetUsd: "daily_budget_usd",
  dailySoftBudgetUsd: "daily_soft_budget_usd",
  monthlyBudgetUsd: "monthly_budget_usd",
  monthlySoftBudgetUsd: "monthly_soft_budget_usd",
};

export type LimitScope = "tenant" | "key";

/** Every limit resolved to a number; 0 means none. Shared and frozen: never mutated per request. */
export type EffectiveLimits = Readonly<Required<LimitSettings>>;

export function resolveLimits(override: LimitSettings | undefined, defaults: LimitSettings): EffectiveLimits {
  const resolved = {} as Record<(typeof limitFields)[number], number>;
  for (const field of limitFields) resolved[field] = override?.[field] ?? defaults[field] ?? 0;
  return Object.freeze(resolved);
}
