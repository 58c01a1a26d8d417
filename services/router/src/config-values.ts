/**
 * Value types the router's configuration sections share, so a setting reads the same whether it
 * arrives from the environment (always a string), a JSON file or run() (already typed).
 */
import { z } from "zod";

const truthy = new Set(["true", "1", "yes", "y", "on", "enabled"]);
const falsy = new Set(["false", "0", "no", "n", "off", "disabled"]);

/** A boolean: `true`/`false` or, as text, true/false, 1/0, yes/no, on/off (any case). */
export const flag = z.preprocess(
  (value) => {
    if (typeof value !== "string") return value;
    const normalized = value.trim().toLowerCase();
    if (truthy.has(normalized)) return true;
    if (falsy.has(normalized)) return false;
    return value;
  },
  z.boolean({ error: "must be true or false" }),
);

export const port = z.coerce.number().int().min(0).max(65_535);
export const positiveMs = z.coerce.number().int().positive();
