/**
 * The common request — text messages and plain sampling settings — checked by hand, with the same
 * rules as the zod schemas in request-schemas.ts for the shapes it covers, at a fraction of their
 * cost on the hot path. It only ever says yes to a request the schema would accept unchanged:
 * anything else (tools, content parts, response formats, a value out of range, a field it does not
 * know how to check) gets `false`, and the schema decides and words the error.
 */
import type { Operation } from "./request-schemas.js";

type Check = (value: unknown) => boolean;

const isString: Check = (value) => typeof value === "string";
const isBoolean: Check = (value) => typeof value === "boolean";
const nullable =
  (check: Check): Check =>
  (value) =>
    value === null || check(value);
const between =
  (min: number, max: number): Check =>
  (value) =>
    typeof value === "number" && value >= min && value <= max;
const wholeBetween =
  (min: number, max: number): Check =>
  (value) =>
    Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;

const sampling: Record<string, Check> = {
  model: (value) => typeof value === "string" && value.length > 0,
  stream: nullable(isBoolean),
  stream_options: (value) =>
    value === null ||
    (isRecord(value) &&
      Object.keys(value).every((key) => key === "include_usage") &&
      (value.include_usage === undefined || isBoolean(value.include_usage))),
  max_tokens: nullable(wholeBetween(1, Number.MAX_SAFE_INTEGER)),
  temperature: nullable(between(0, 2)),
  top_p: nullable(between(0, 1)),
  n: nullable(wholeBetween(1, 128)),
  stop: (value) =>
    value === null || isString(value) || (Array.isArray(value) && value.length <= 4 && value.every(isString)),
  seed: nullable(wholeBetween(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)),
  presence_penalty: nullable(between(-2, 2)),
  frequency_penalty: nullable(between(-2, 2)),
  user: isString,
};

const plainRoles = new Set(["system", "developer", "user", "assistant"]);

/** A message with text content and nothing else the schema would have to look into. */
const isPlainMessage: Check = (message) => {
  if (!isRecord(message) || !plainRoles.has(message.role as string) || !isString(message.content))
    return false;
  for (const key in message) {
    if (key !== "role" && key !== "content" && !(key === "name" && isString(message.name))) return false;
  }
  return true;
};

const checks: Record<Operation, Record<string, Check>> = {
  "chat.completions": {
    ...sampling,
    messages: (value) => Array.isArray(value) && value.length > 0 && value.every(isPlainMessage),
    max_completion_tokens: nullable(wholeBetween(1, Number.MAX_SAFE_INTEGER)),
  },
  completions: { ...sampling, prompt: isString },
};

const required: Record<Operation, readonly string[]> = {
  "chat.completions": ["model", "messages"],
  completions: ["model", "prompt"],
};

/**
 * True when `body` is a request of the common shape that the schema of `operation` accepts as it is.
 * `schemaKeys` are the fields the schema knows: any other field is an extension and passes through,
 * as the schema lets it; a known field this check does not cover sends the request to the schema.
 */
export function isPlainRequest(
  operation: Operation,
  body: Record<string, unknown>,
  schemaKeys: ReadonlySet<string>,
): boolean {
  const fieldChecks = checks[operation];
  for (const key of required[operation]) if (body[key] === undefined) return false;
  for (const key in body) {
    const value = body[key];
    // Left to the schema: undefined (never from JSON) and fields known to it but not checked here.
    if (value === undefined) return false;
    const check = fieldChecks[key];
    if (check) {
      if (!check(value)) return false;
    } else if (schemaKeys.has(key)) return false;
  }
  // OpenAI refuses stream_options without stream.
  return body.stream_options === undefined || body.stream_options === null || body.stream === true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
