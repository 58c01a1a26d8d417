import { StrataError } from "@strata/kit";
import { z } from "zod";
import { validateInput } from "../admin/admin-validation.js";

const secondsRange = "must be between 3600 (1 hour) and 2592000 (30 days)";

/**
 * OpenAI's expiration policy of a file (`expires_after` on upload, a batch's `output_expires_after`):
 * `seconds` after the file's own creation, within OpenAI's bounds.
 */
export const expiresAfterSchema = z
  .object({
    anchor: z.literal("created_at", { error: "the only supported anchor is 'created_at'" }),
    seconds: z
      .number({ error: "must be a number of seconds" })
      .int("must be a whole number of seconds")
      .min(3_600, secondsRange)
      .max(2_592_000, secondsRange),
  })
  .strict();

export type ExpiresAfter = z.output<typeof expiresAfterSchema>;

/**
 * `expires_after` from an upload form. OpenAI's SDKs send objects as bracketed fields
 * (`expires_after[anchor]=created_at`, `expires_after[seconds]=3600`); undefined when it is absent.
 */
export function expiresAfterFromForm(fields: Record<string, string>): ExpiresAfter | undefined {
  const policy: Record<string, unknown> = {};
  let present = false;
  for (const [name, value] of Object.entries(fields)) {
    if (!name.startsWith("expires_after")) continue;
    const key = /^expires_after\[(\w+)\]$/.exec(name)?.[1];
    if (!key)
      throw new StrataError(
        "invalid_request",
        `Invalid form field '${name}': send expires_after as 'expires_after[anchor]' and 'expires_after[seconds]'.`,
        { param: "expires_after" },
      );
    policy[key] = key === "seconds" && /^\d+$/.test(value) ? Number(value) : value;
    present = true;
  }
  if (!present) return undefined;
  return validateInput(z.object({ expires_after: expiresAfterSchema }), { expires_after: policy })
    .expires_after;
}
