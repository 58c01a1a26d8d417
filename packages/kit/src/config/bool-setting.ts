import { z } from "zod";

/**
 * An on/off setting: a boolean, or text from an environment variable or flag — true/1/yes/on or
 * false/0/no/off, any case, surrounding spaces ignored. Other text fails as not a boolean.
 */
export function boolSetting() {
  return z.preprocess((value) => {
    if (typeof value !== "string") return value;
    const normalized = value.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(normalized)) return true;
    if (["false", "0", "no", "off"].includes(normalized)) return false;
    return value;
  }, z.boolean());
}
