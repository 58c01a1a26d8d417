import { z } from "zod";

/** Prices of one model in US dollars per million tokens. */
export const modelPriceSchema = z
  .object({
    input: z.number().min(0).finite(),
    output: z.number().min(0).finite(),
    /** Prompt tokens served from the engine's prefix cache; the input price when not given. */
    cachedInput: z.number().min(0).finite().optional(),
  })
  .strict();

export type ModelPrice = z.output<typeof modelPriceSchema>;

/**
 * The price table, by model name (as requested or as served). From the environment it is one JSON
 * object: GATEWAY_PRICING='{"gpt-4o":{"input":2.5,"output":10,"cachedInput":1.25}}'.
 */
export const pricingConfigSchema = z
  .preprocess(
    (value) => (typeof value === "string" ? parseJson(value) : value),
    z.record(z.string().min(1), modelPriceSchema),
  )
  .default({});

export type PricingConfig = z.output<typeof pricingConfigSchema>;

export const pricingEnv = { pricing: "GATEWAY_PRICING" } as const;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Left as text, the record schema then names the setting and says it is not an object.
    return text;
  }
}
