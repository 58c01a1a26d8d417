import { z } from "zod";

/**
 * A list or table setting: JSON text in one environment variable, or already parsed (run(), a config
 * file). Text that is not JSON fails with the parser's reason rather than the schema's type mismatch.
 */
export function jsonSetting<T extends z.ZodType>(schema: T) {
  return z.preprocess((value, context) => {
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value);
    } catch (error) {
      context.addIssue({ code: "custom", message: `not valid JSON (${(error as Error).message})` });
      return z.NEVER;
    }
  }, schema);
}
