/**
 * OpenAI request bodies as vLLM accepts them: unknown fields are ignored, known ones type-checked.
 * Sampling checks mirror vLLM's SamplingParams._verify_args messages.
 */
import { z } from "zod";
import { badRequest } from "./errors.js";

const optional = <T extends z.ZodType>(schema: T) => schema.nullish();

const samplingFields = {
  model: optional(z.string()),
  n: optional(z.number().int()),
  max_tokens: optional(z.number().int()),
  stop: optional(z.union([z.string(), z.array(z.string())])),
  seed: optional(z.number().int()),
  temperature: optional(z.number()),
  top_p: optional(z.number()),
  stream: optional(z.boolean()),
  stream_options: optional(
    z.looseObject({ include_usage: optional(z.boolean()), continuous_usage_stats: optional(z.boolean()) }),
  ),
  ignore_eos: optional(z.boolean()),
  min_tokens: optional(z.number().int()),
};

const contentPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const chatMessage = z.looseObject({
  role: z.string(),
  content: optional(z.union([z.string(), z.array(contentPart)])),
});

export const chatCompletionRequestSchema = z.looseObject({
  ...samplingFields,
  messages: z.array(chatMessage),
  max_completion_tokens: optional(z.number().int()),
  add_generation_prompt: optional(z.boolean()),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export const completionRequestSchema = z.looseObject({
  ...samplingFields,
  prompt: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int().min(0)).min(1),
    z.array(z.array(z.number().int().min(0)).min(1)).min(1),
  ]),
});
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

export const tokenizeRequestSchema = z.union([
  z.looseObject({
    model: optional(z.string()),
    prompt: z.string(),
    add_special_tokens: optional(z.boolean()),
  }),
  z.looseObject({
    model: optional(z.string()),
    messages: z.array(chatMessage),
    add_generation_prompt: optional(z.boolean()),
  }),
]);

/** Parses with a schema, turning the first issue into a 400 that names the field. */
export function parseRequest<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  const param = issue.path.length > 0 ? issue.path.map(String).join(".") : null;
  const missing = issue.code === "invalid_type" && issue.message.includes("undefined");
  const message = missing ? "Field required" : issue.message;
  throw badRequest(`1 validation error: ${param ?? "body"}: ${message}`, param);
}

export interface SamplingSettings {
  n: number;
  maxTokens: number | null;
  minTokens: number;
  stop: string[];
  seed: number | null;
  ignoreEos: boolean;
  stream: boolean;
  includeUsage: boolean;
}

export function samplingSettings(
  request: z.infer<z.ZodObject<typeof samplingFields>>,
  maxTokens: number | null | undefined,
): SamplingSettings {
  const n = request.n ?? 1;
  if (n < 1) throw badRequest(`n must be at least 1, got ${n}.`, "n");
  const temperature = request.temperature;
  if (temperature != null && temperature < 0) {
    throw badRequest(`temperature must be non-negative, got ${temperature}.`, "temperature");
  }
  const topP = request.top_p;
  if (topP != null && !(topP > 0 && topP <= 1))
    throw badRequest(`top_p must be in (0, 1], got ${topP}.`, "top_p");
  if (maxTokens != null && maxTokens < 1) {
    throw badRequest(`max_tokens must be at least 1, got ${maxTokens}.`, "max_tokens");
  }
  const minTokens = request.min_tokens ?? 0;
  if (minTokens < 0)
    throw badRequest(`min_tokens must be greater than or equal to 0, got ${minTokens}.`, "min_tokens");
  if (maxTokens != null && minTokens > maxTokens) {
    throw badRequest(
      `min_tokens must be less than or equal to max_tokens=${maxTokens}, got ${minTokens}.`,
      "min_tokens",
    );
  }
  const stream = request.stream ?? false;
  if (request.stream_options && !stream) {
    throw badRequest("Stream options can only be defined when `stream=True`.", "stream_options");
  }
  const stop = request.stop == null ? [] : typeof request.stop === "string" ? [request.stop] : request.stop;
  return {
    n,
    maxTokens: maxTokens ?? null,
    minTokens,
    stop,
    seed: request.seed ?? null,
    ignoreEos: request.ignore_eos ?? false,
    stream,
    includeUsage: stream && (request.stream_options?.include_usage ?? false),
  };
}
