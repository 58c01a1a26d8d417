import type { Counter, Logger } from "@strata/kit";
import type { BudgetGuard } from "../budget/budget-guard.js";
import type {
  Admission,
  Admitter,
  MeteredCall,
  RequestOutcome,
  UsageFields,
} from "../pipeline/pipeline-steps.js";
import type { PriceTable } from "../pricing/price-table.js";
import { rateLimitError } from "../ratelimit/rate-limit-error.js";
import type { RateLimiter, RateLimitLease } from "../ratelimit/rate-limiter.js";
import { noLease } from "../ratelimit/rate-limiter.js";
import { setRateLimitHeaders } from "../ratelimit/ratelimit-headers.js";
import { estimateRequestTokens } from "../ratelimit/token-estimate.js";
import type { EffectiveLimits } from "./limit-settings.js";
import type { LimitSettingsStore } from "./limit-settings-store.js";

export interface LimitsAdmitterDeps {
  settings: Pick<LimitSettingsStore, "forTenant" | "forKey">;
  limiter: Pick<RateLimiter, "acquire">;
  budgets: Pick<BudgetGuard, "check" | "record">;
  prices: Pick<PriceTable, "cost">;
  /** Completion tokens assumed for a request without max_tokens. */
  defaultCompletionTokens: number;
  refusals: Pick<Counter<"scope" | "reason">, "inc">;
  logger: Logger;
}

/**
 * The admit step: hard budgets first (a refused request must not use up rate limit), then every rate
 * limit of the key and its tenant in one check. Its settle() charges real tokens and cost.
 */
export class LimitsAdmitter implements Admitter {
  constructor(private readonly deps: LimitsAdmitterDeps) {}

  async admit(call: MeteredCall): Promise<Admission> {
    const { tenantId, apiKeyId } = call.auth;
    const tenant = this.deps.settings.forTenant(tenantId);
    const key = this.deps.settings.forKey(apiKeyId);
    try {
      this.deps.budgets.check(tenantId, apiKeyId, tenant, key);
    } catch (error) {
      this.deps.refusals.inc({ scope: "budget", reason: "budget" });
      // OpenAI's SDKs retry every 429 unless told not to; a spent budget will not come back in seconds.
      call.headers["x-should-retry"] = "false";
      throw error;
    }
    let lease: RateLimitLease = noLease;
    if (rateLimited(tenant) || rateLimited(key)) {
      const tokens = estimateRequestTokens(call, this.deps.defaultCompletionTokens);
      const decision = await this.deps.limiter.acquire({
        tenantId,
        apiKeyId,
        tenant,
        key,
        tokens,
        requestId: call.requestId,
      });
      setRateLimitHeaders(call.headers, decision.requests, decision.tokens);
      if (!decision.allowed) {
        const { refusal } = decision;
        this.deps.refusals.inc({ scope: refusal.scope, reason: refusal.dimension });
        if (refusal.neverFits) call.headers["x-should-retry"] = "false";
        else call.headers["retry-after-ms"] = String(refusal.retryAfterMs);
        throw rateLimitError(refusal, call.operation === "embeddings" ? "input" : "prompt");
      }
      lease = decision.lease;
    }
    return new LimitsAdmission(this.deps, call, lease, tenant, key);
  }
}

class LimitsAdmission implements Admission {
  constructor(
    private readonly deps: LimitsAdmitterDeps,
    private readonly call: MeteredCall,
    private readonly lease: RateLimitLease,
    private readonly tenant: EffectiveLimits,
    private readonly key: EffectiveLimits,
  ) {}

  settle(outcome: RequestOutcome, usage: UsageFields): void {
    // An answer from the gateway's cache used no upstream: no tokens against the limits, no cost.
    const fromCache = outcome.status === 200 && outcome.provider === "";
    const used = fromCache ? 0 : outcome.usage.promptTokens + outcome.usage.completionTokens;
    this.lease.settle(used);
    if (fromCache) return;
    const cost = this.deps.prices.cost(outcome.usage, outcome.servedModel, this.call.request.model);
    usage.costUsd = cost.costUsd;
    usage.pricedModel = cost.pricedModel;
    usage.inputUsdPerMtok = cost.inputUsdPerMtok;
    usage.outputUsdPerMtok = cost.outputUsdPerMtok;
    usage.cachedInputUsdPerMtok = cost.cachedInputUsdPerMtok;
    if (cost.costUsd > 0) {
      const { tenantId, apiKeyId } = this.call.auth;
      this.deps.budgets
        .record(tenantId, apiKeyId, cost.costUsd, this.tenant, this.key)
        .catch((error: unknown) =>
          this.deps.logger.error(
            { err: error, requestId: this.call.requestId },
            "spend could not be counted",
          ),
        );
    }
  }
}

function rateLimited(limits: EffectiveLimits): boolean {
  return limits.requestsPerMinute > 0 || limits.tokensPerMinute > 0 || limits.concurrentRequests > 0;
}
