import type { UsageCounts } from "../pipeline/usage-counts.js";
import type { ModelPrice, PricingConfig } from "./pricing-config.js";

/** A request's cost and what it was computed from (UsageEvent fields 20–24). */
export interface RequestCost {
  costUsd: number;
  /** The price-table entry used; "" when none matched (cost 0). */
  pricedModel: string;
  inputUsdPerMtok: number;
  outputUsdPerMtok: number;
  cachedInputUsdPerMtok: number;
}

export const freeOfCharge: RequestCost = Object.freeze({
  costUsd: 0,
  pricedModel: "",
  inputUsdPerMtok: 0,
  outputUsdPerMtok: 0,
  cachedInputUsdPerMtok: 0,
});

/** Prices per model, applied to each request's token counts. */
export class PriceTable {
  private readonly configured: Map<string, Required<ModelPrice>>;
  private prices: Map<string, Required<ModelPrice>>;

  constructor(config: PricingConfig) {
    this.configured = new Map(
      Object.entries(config).map(([model, price]) => [model, withCachedInput(price)]),
    );
    this.prices = this.configured;
  }

  /**
   * Prices the router reports (a ModelDeployment's `spec.routing.price`), replacing the previous
   * report. They price models the configuration does not list; a configured price always wins.
   */
  useReportedPrices(reported: ReadonlyMap<string, ModelPrice>): void {
    const prices = new Map<string, Required<ModelPrice>>();
    for (const [model, price] of reported) prices.set(model, withCachedInput(price));
    for (const [model, price] of this.configured) prices.set(model, price);
    this.prices = prices;
  }

  /**
   * The served model's price, else the requested one's: what ran is what costs (an alias or a
   * fallback may have served a different model than the one asked for).
   */
  cost(usage: UsageCounts, servedModel: string, requestedModel: string): RequestCost {
    const pricedModel = this.prices.has(servedModel) ? servedModel : requestedModel;
    const price = this.prices.get(pricedModel);
    if (!price) return freeOfCharge;
    const cached = Math.min(usage.cachedTokens, usage.promptTokens);
    const costUsd =
      ((usage.promptTokens - cached) * price.input +
        cached * price.cachedInput +
        usage.completionTokens * price.output) /
      1_000_000;
    return {
      costUsd,
      pricedModel,
      inputUsdPerMtok: price.input,
      outputUsdPerMtok: price.output,
      cachedInputUsdPerMtok: price.cachedInput,
    };
  }
}

function withCachedInput(price: ModelPrice): Required<ModelPrice> {
  return { ...price, cachedInput: price.cachedInput ?? price.input };
}
