import { StrataError } from "@strata/kit";
import type { z } from "zod";
import { fieldPath, valueAt } from "../openai/request-schemas.js";

/**
 * Validates an admin request body (or query) against its schema; the first problem becomes a 400
 * whose `param` names the field, worded the way OpenAI words its own.
 */
export function validateInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new StrataError("invalid_request", "The request body must be a JSON object.");
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = fieldPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((key) => `'${param ? `${param}.` : ""}${key}'`).join(", ");
    throw new StrataError("invalid_request", `Unrecognized request argument supplied: ${keys}.`, {
      param: issue.keys[0],
    });
  }
  const missing = issue.code === "invalid_type" && valueAt(input, issue.path) === undefined;
  const message = missing
    ? `Missing required parameter: '${param}'.`
    : `Invalid value for '${param}': ${issue.message}.`;
  throw new StrataError("invalid_request", message, { param });
}

/** A request's id field, refused as INVALID_ARGUMENT naming `param` when empty. */
export function requireId(id: string, param = "id"): string {
  if (id.trim() === "")
    throw new StrataError("invalid_request", `Missing required parameter: '${param}'.`, { param });
  return id;
}
