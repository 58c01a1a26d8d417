import { StrataError } from "@strata/kit";
import { z } from "zod";

// Known fields are checked here so a mistake is named before any work starts; unknown fields pass
// through untouched, because engines accept extensions (vLLM's top_k, min_tokens, ignore_eos...).

const contentPart = z.looseObject({ type: z.string() });
const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  name: z.string().optional(),
  tool_call_id: z.string().optional(),
  tool_calls: z.array(z.looseObject({})).optional(),
});

const stop = z
  .union([z.string(), z.array(z.string()).max(4)])
  .nullable()
  .optional();

const sampling = {
  model: z.string().min(1, "must name a model"),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  n: z.number().int().min(1).max(128).nullable().optional(),
  stop,
  seed: z.number().int().nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  logit_bias: z.record(z.string(), z.number()).nullable().optional(),
  user: z.string().optional(),
};

export const chatCompletionRequestSchema = z.looseObject({
  ...sampling,
  messages: z.array(message).min(1, "must contain at least one message"),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
  response_format: z
    .looseObject({ type: z.enum(["text", "json_object", "json_schema"]) })
    .nullable()
    .optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  tool_choice: z.union([z.string(), z.looseObject({})]).optional(),
});

const tokenIds = z.array(z.number().int().min(0));
export const completionRequestSchema = z.looseObject({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds.min(1), z.array(tokenIds).min(1)]),
  echo: z.boolean().nullable().optional(),
  suffix: z.string().nullable().optional(),
  best_of: z.number().int().min(1).nullable().optional(),
  logprobs: z.number().int().min(0).max(5).nullable().optional(),
});

export type ChatCompletionRequest = z.output<typeof chatCompletionRequestSchema>;
export type CompletionRequest = z.output<typeof completionRequestSchema>;
export type Operation = "chat.completions" | "completions";

const schemas = { "chat.completions": chatCompletionRequestSchema, completions: completionRequestSchema };

/** Validates a request body; the first problem becomes a 400 whose `param` names the field. */
export function validateRequest(
  operation: Operation,
  body: unknown,
): ChatCompletionRequest | CompletionRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new StrataError("invalid_request", "The request body must be a JSON object.");
  }
  const result = schemas[operation].safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = fieldPath(issue.path);
  const missing =
    issue.code === "invalid_type" && (body as Record<string, unknown>)[String(issue.path[0])] === undefined;
  const message =
    missing && issue.path.length === 1
      ? `Missing required parameter: '${param}'.`
      : `Invalid value for '${param}': ${issue.message}.`;
  throw new StrataError("invalid_request", message, { param });
}

/** ["messages", 0, "role"] → "messages[0].role", the way OpenAI names fields in errors. */
export function fieldPath(path: PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    "",
  );
}
