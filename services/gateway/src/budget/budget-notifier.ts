import { create, toBinary } from "@bufbuild/protobuf";
import type { Bus, Logger } from "@strata/kit";
import { budgetLimitSubject, budgetStream, gatewayEventsV1 } from "@strata/proto";
import type { Redis } from "ioredis";
import type { LimitScope } from "../limits/limit-settings.js";
import type { BackendErrorReporter } from "../ratelimit/backend-errors.js";

export interface BudgetLimitReached {
  tenantId: string;
  scope: LimitScope;
  scopeId: string;
  period: "day" | "month";
  /** "2025-05-01" or "2025-05". */
  periodStart: string;
  /** When the period ends: the notice is not repeated before then. */
  periodEndMs: number;
  limitKind: "soft" | "hard";
  limitUsd: number;
  spentUsd: number;
}

/** Claims a marker once across replicas; true for the first claimant only. */
export interface OnceStore {
  claim(marker: string, ttlMs: number): Promise<boolean>;
}

/** One process: the notifier's own memory already makes the claim unique. */
export const processOnce: OnceStore = { claim: async () => true };

/** Across replicas: SET NX, so exactly one replica publishes a period's notice. */
export function redisOnce(
  redis: Pick<Redis, "set">,
  keyPrefix: string,
  errors: Pick<BackendErrorReporter, "report">,
): OnceStore {
  return {
    async claim(marker, ttlMs) {
      try {
        return (await redis.set(`${keyPrefix}budget-notice:${marker}`, "1", "PX", ttlMs, "NX")) === "OK";
      } catch (error) {
        // Better a notice twice than never.
        errors.report("budget-notice", error, "notice published without cross-replica de-duplication");
        return true;
      }
    },
  };
}

export interface BudgetNotifierOptions {
  bus: Pick<Bus, "publish" | "ensureStream">;
  once: OnceStore;
  logger: Logger;
  now?: () => number;
}

/**
 * Publishes BudgetLimitReached once per tenant or key, budget and period. Spend crosses a limit on
 * one request but stays above it for the rest of the period, so every later request asks again; the
 * in-memory marker answers those without leaving the process.
 */
export class BudgetNotifier {
  /** Marker → end of its period. */
  private readonly sent = new Map<string, number>();
  private readonly now: () => number;
  private nextSweep = 0;

  constructor(private readonly options: BudgetNotifierOptions) {
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    await this.options.bus.ensureStream({
      name: budgetStream.name,
      subjects: [...budgetStream.subjects],
      maxAgeMs: 35 * 86_400_000,
    });
  }

  async notify(notice: BudgetLimitReached): Promise<void> {
    const marker = `${notice.limitKind}:${notice.scope}:${notice.scopeId}:${notice.period}:${notice.periodStart}`;
    const now = this.now();
    this.sweep(now);
    if (this.sent.has(marker)) return;
    this.sent.set(marker, notice.periodEndMs);
    if (!(await this.options.once.claim(marker, Math.max(1, notice.periodEndMs - now) + 86_400_000))) return;
    const message = create(gatewayEventsV1.BudgetLimitReachedSchema, {
      tenantId: notice.tenantId,
      scope: notice.scope,
      scopeId: notice.scopeId,
      period: notice.period,
      periodStart: notice.periodStart,
      limitKind: notice.limitKind,
      limitUsd: notice.limitUsd,
      spentUsd: notice.spentUsd,
      reachedAtMs: BigInt(now),
    });
    this.options.logger.warn(
      { ...notice, periodEndMs: undefined },
      `${notice.limitKind} budget limit reached for ${notice.scope} ${notice.scopeId}`,
    );
    try {
      await this.options.bus.publish(
        budgetLimitSubject(notice.limitKind, notice.tenantId),
        toBinary(gatewayEventsV1.BudgetLimitReachedSchema, message),
        { msgId: marker },
      );
    } catch (error) {
      // Allow a later request to try again.
      this.sent.delete(marker);
      this.options.logger.error({ err: error, marker }, "budget notice could not be published");
    }
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 60_000;
    for (const [marker, endsAt] of this.sent) if (endsAt <= now) this.sent.delete(marker);
  }
}
