import { describe, expect, it } from "vitest";
import { PriceTable } from "../../src/pricing/price-table.js";
import { pricingConfigSchema } from "../../src/pricing/pricing-config.js";

describe("the price table", () => {
  const prices = new PriceTable(
    pricingConfigSchema.parse({
      "big-model": { input: 2.5, output: 10, cachedInput: 1.25 },
      "small-model": { input: 0.1, output: 0.4 },
    }),
  );

  it("prices uncached prompt, cached prompt and completion tokens at their own rates", () => {
    const cost = prices.cost(
      { promptTokens: 1_000_000, cachedTokens: 400_000, completionTokens: 200_000 },
      "big-model",
      "big-model",
    );
    // 600k × $2.50 + 400k × $1.25 + 200k × $10, per million
    expect(cost.costUsd).toBeCloseTo(1.5 + 0.5 + 2, 10);
    expect(cost).toMatchObject({
      pricedModel: "big-model",
      inputUsdPerMtok: 2.5,
      outputUsdPerMtok: 10,
      cachedInputUsdPerMtok: 1.25,
    });
  });

  it("charges cached tokens at the input price when the model has no cached price", () => {
    const cost = prices.cost(
      { promptTokens: 100, cachedTokens: 100, completionTokens: 0 },
      "small-model",
      "x",
    );
    expect(cost.costUsd).toBeCloseTo(100 * 0.1e-6, 15);
    expect(cost.cachedInputUsdPerMtok).toBe(0.1);
  });

  it("prices what was served, falling back to what was asked for, and charges nothing for an unknown model", () => {
    const usage = { promptTokens: 1_000, cachedTokens: 0, completionTokens: 1_000 };
    expect(prices.cost(usage, "small-model", "big-model").pricedModel).toBe("small-model");
    expect(prices.cost(usage, "engine-name", "big-model").pricedModel).toBe("big-model");
    expect(prices.cost(usage, "unknown", "unknown")).toMatchObject({ costUsd: 0, pricedModel: "" });
  });

  it("reads the table from one JSON environment value and names a bad one", () => {
    expect(pricingConfigSchema.parse('{"m":{"input":1,"output":2}}')).toEqual({ m: { input: 1, output: 2 } });
    expect(() => pricingConfigSchema.parse("{not json")).toThrow();
    expect(() => pricingConfigSchema.parse({ m: { input: -1, output: 2 } })).toThrow();
  });
});
