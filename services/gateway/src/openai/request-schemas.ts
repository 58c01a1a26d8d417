import { StrataError } from "@strata/kit";
import { z } from "zod";
import { isPlainRequest } from "./plain-request.js";

// Known fields are checked here so a mistake is named before any work starts; unknown fields pass
// through untouched, because engines accept extensions (vLLM's top_k, min_tokens, ignore_eos...).

// Shapes follow OpenAI's API reference and its SDK's types: a request OpenAI would refuse is refused
// here with the same `param`, and every field it accepts is accepted.

const functionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be 1 to 64 letters, digits, '_' or '-'");
type Issues = z.RefinementCtx;

/** Known part types are checked; others (engine extensions such as video_url) pass through. */
const contentPart = z.looseObject({ type: z.string() }).superRefine((part, context) => {
  const value = part as Record<string, unknown>;
  if (part.type === "text" && typeof value.text !== "string") required(context, ["text"], "a string");
  if (
    part.type === "image_url" &&
    typeof (value.image_url as { url?: unknown } | undefined)?.url !== "string"
  )
    required(context, ["image_url", "url"], "a URL");
});

const toolCall = z.looseObject({
  id: z.string(),
  type: z.enum(["function", "custom"]),
  function: z.looseObject({ name: z.string(), arguments: z.string() }).optional(),
});

const message = z
  .looseObject({
    role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
    content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
    name: z.string().optional(),
    tool_call_id: z.string().optional(),
    tool_calls: z.array(toolCall).optional(),
  })
  .superRefine((entry, context) => {
    if (entry.role === "tool" && entry.tool_call_id === undefined)
      required(context, ["tool_call_id"], "a string");
    // Only an assistant turn (one that calls tools, or a prefill) may leave its content out.
    if (entry.content == null && entry.role !== "assistant")
      required(context, ["content"], "a string or an array of content parts");
  });

function required(context: Issues, path: (string | number)[], what: string): void {
  context.addIssue({ code: "custom", path, message: `expected ${what}` });
}

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
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)).nullable().optional(),
  user: z.string().optional(),
};

const tool = z
  .looseObject({
    type: z.enum(["function", "custom"]),
    function: z
      .looseObject({
        name: functionName,
        description: z.string().optional(),
        parameters: z.looseObject({}).optional(),
        strict: z.boolean().nullable().optional(),
      })
      .optional(),
    custom: z.looseObject({ name: z.string() }).optional(),
  })
  .superRefine((entry, context) => {
    if (entry.type === "function" && !entry.function) required(context, ["function"], "an object");
    if (entry.type === "custom" && !entry.custom) required(context, ["custom"], "an object");
  });

const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({
    type: z.enum(["function", "allowed_tools", "custom"]),
    function: z.looseObject({ name: z.string() }).optional(),
  }),
]);

const responseFormat = z
  .looseObject({
    type: z.enum(["text", "json_object", "json_schema"]),
    json_schema: z
      .looseObject({
        name: functionName,
        description: z.string().optional(),
        schema: z.looseObject({}).optional(),
        strict: z.boolean().nullable().optional(),
      })
      .optional(),
  })
  .superRefine((format, context) => {
    if (format.type === "json_schema" && !format.json_schema) required(context, ["json_schema"], "an object");
  });

export const chatCompletionRequestSchema = z
  .looseObject({
    ...sampling,
    messages: z.array(message).min(1, "must contain at least one message"),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
    response_format: responseFormat.nullable().optional(),
    tools: z.array(tool).optional(),
    tool_choice: toolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
  })
  .superRefine((request, context) => {
    const problem = (path: string, message: string) =>
      context.addIssue({ code: "custom", path: [path], message });
    if (request.top_logprobs != null && !request.logprobs)
      problem("top_logprobs", "logprobs must be set to true");
    if (request.tool_choice !== undefined && !request.tools?.length)
      problem("tool_choice", "only allowed when 'tools' are specified");
    checkStreamOptions(request, problem);
  });

/** OpenAI refuses stream_options without stream (so do vLLM and engine-sim). */
function checkStreamOptions(
  request: { stream?: boolean | null | undefined; stream_options?: unknown },
  problem: (path: string, message: string) => void,
): void {
  if (request.stream_options != null && !request.stream)
    problem("stream_options", "only allowed when 'stream' is true");
}

const tokenIds = z.array(z.number().int().min(0));
export const completionRequestSchema = z
  .looseObject({
    ...sampling,
    prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds.min(1), z.array(tokenIds).min(1)]),
    echo: z.boolean().nullable().optional(),
    suffix: z.string().nullable().optional(),
    best_of: z.number().int().min(1).max(20).nullable().optional(),
    logprobs: z.number().int().min(0).max(5).nullable().optional(),
  })
  .superRefine((request, context) =>
    checkStreamOptions(request, (path, message) =>
      context.addIssue({ code: "custom", path: [path], message }),
    ),
  );

export type ChatCompletionRequest = z.output<typeof chatCompletionRequestSchema>;
export type CompletionRequest = z.output<typeof completionRequestSchema>;
export type Operation = "chat.completions" | "completions";

const schemas = { "chat.completions": chatCompletionRequestSchema, completions: completionRequestSchema };
const schemaKeys: Record<Operation, ReadonlySet<string>> = {
  "chat.completions": new Set(Object.keys(chatCompletionRequestSchema.shape)),
  completions: new Set(Object.keys(completionRequestSchema.shape)),
};

/** Validates a request body; the first problem becomes a 400 whose `param` names the field. */
export function validateRequest(
  operation: Operation,
  body: unknown,
): ChatCompletionRequest | CompletionRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new StrataError("invalid_request", "The request body must be a JSON object.");
  }
  // The common shape needs no schema walk: the same rules, checked by hand (plain-request.ts).
  if (isPlainRequest(operation, body as Record<string, unknown>, schemaKeys[operation]))
    return body as ChatCompletionRequest | CompletionRequest;
  const result = schemas[operation].safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = fieldPath(issue.path);
  const message =
    valueAt(body, issue.path) === undefined && issue.code !== "unrecognized_keys"
      ? `Missing required parameter: '${param}'.`
      : `Invalid value for '${param}': ${issue.message}.`;
  throw new StrataError("invalid_request", message, { param });
}

/** The value at `path` inside `body`, or undefined where the path leaves the object. */
export function valueAt(body: unknown, path: PropertyKey[]): unknown {
  let value = body;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** ["messages", 0, "role"] → "messages[0].role", the way OpenAI names fields in errors. */
export function fieldPath(path: PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    "",
  );
}
