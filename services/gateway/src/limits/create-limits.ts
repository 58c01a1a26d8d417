import type { Bus, Database, Logger, Registry } from "@strata/kit";
import type { Redis } from "ioredis";
import type { AdminRouter } from "../admin/admin-router.js";
import type { BudgetConfig } from "../budget/budget-config.js";
import { BudgetGuard } from "../budget/budget-guard.js";
import { BudgetNotifier, processOnce, redisOnce } from "../budget/budget-notifier.js";
import { budgetPeriod } from "../budget/budget-period.js";
import { spendFromLedger } from "../budget/ledger-spend.js";
import { MemorySpendCounters } from "../budget/memory-spend-counters.js";
import { RedisSpendCounters } from "../budget/redis-spend-counters.js";
import type { SpendCounters } from "../budget/spend-counters.js";
import { PriceTable } from "../pricing/price-table.js";
import type { PricingConfig } from "../pricing/pricing-config.js";
import { BackendErrorReporter } from "../ratelimit/backend-errors.js";
import { MemoryRateLimiter } from "../ratelimit/memory-rate-limiter.js";
import type { RateLimiter } from "../ratelimit/rate-limiter.js";
import type { RateLimitConfig } from "../ratelimit/ratelimit-config.js";
import { createLimitMetrics } from "../ratelimit/ratelimit-metrics.js";
import { RedisRateLimiter } from "../ratelimit/redis-rate-limiter.js";
import { registerUsageRoutes } from "../usage/usage-admin-routes.js";
import { LimitSettingsStore } from "./limit-settings-store.js";
import { registerLimitRoutes } from "./limits-admin-routes.js";
import { LimitsAdmitter } from "./limits-admitter.js";
import type { LimitsConfig } from "./limits-config.js";

export interface LimitsDeps {
  config: {
    limits: LimitsConfig;
    rateLimits: RateLimitConfig;
    budgets: BudgetConfig;
    pricing: PricingConfig;
  };
  db: Database;
  bus: Pick<Bus, "publish" | "ensureStream" | "broadcast" | "subscribe">;
  /** Shared limits and spend across replicas; in-process ones without it. */
  redis?: Redis | undefined;
  registry: Registry;
  logger: Logger;
  now?: () => number;
}

export interface Limits {
  admitter: LimitsAdmitter;
  prices: PriceTable;
  /** `/admin/v1/{tenants,keys}/{id}/limits` and `/admin/v1/usage`. */
  registerAdminRoutes(router: Pick<AdminRouter, "add">): void;
  close(): Promise<void>;
}

/** Rate limits, budgets and prices, wired from configuration: the admit/settle step of the pipeline. */
export async function createLimits(deps: LimitsDeps): Promise<Limits> {
  const { config, db, redis, logger } = deps;
  const now = deps.now ?? Date.now;
  const metrics = createLimitMetrics(deps.registry);
  const errors = new BackendErrorReporter({ counter: metrics.backendErrors, logger });
  const settings = new LimitSettingsStore({
    db,
    defaults: { tenant: config.limits.tenant, key: config.limits.key },
    refreshIntervalMs: config.limits.refreshIntervalMs,
    bus: deps.bus,
    logger,
  });
  await settings.start();
  const { keyPrefix, onError, leaseTtlMs } = config.rateLimits.redis;
  const limiter: RateLimiter = redis
    ? new RedisRateLimiter({ redis, keyPrefix, onError, leaseTtlMs, errors, now })
    : new MemoryRateLimiter({ now });
  const counters: SpendCounters = redis
    ? new RedisSpendCounters({ redis, keyPrefix, syncIntervalMs: config.budgets.syncIntervalMs, errors, now })
    : new MemorySpendCounters();
  const period = budgetPeriod(now());
  await counters.seed(await spendFromLedger(db, period), period);
  const notifier = new BudgetNotifier({
    bus: deps.bus,
    once: redis ? redisOnce(redis, keyPrefix, errors) : processOnce,
    logger,
    now,
  });
  await notifier.start();
  const prices = new PriceTable(config.pricing);
  const admitter = new LimitsAdmitter({
    settings,
    limiter,
    budgets: new BudgetGuard({ counters, notifier, now }),
    prices,
    defaultCompletionTokens: config.rateLimits.defaultCompletionTokens,
    refusals: metrics.refusals,
    logger,
  });
  return {
    admitter,
    prices,
    registerAdminRoutes(router) {
      registerLimitRoutes(router, { store: settings, db });
      registerUsageRoutes(router, { db, now });
    },
    async close() {
      await Promise.all([settings.close(), limiter.close(), counters.close()]);
    },
  };
}
