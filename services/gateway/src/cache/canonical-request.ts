import type { ChatCompletionRequest, CompletionRequest, Operation } from "../openai/request-schemas.js";
import { canonicalJson } from "./canonical-json.js";

/**
 * Fields that change how an answer is delivered or accounted, never what it says: a streamed and a
 * non-streamed request for the same thing share one cache entry.
 */
const deliveryOnly = new Set([
  "model",
  "messages",
  "prompt",
  "stream",
  "stream_options",
  "user",
  "metadata",
  "store",
  "service_tier",
]);

/**
 * A completion request in canonical form, built once per request and shared by both caches:
 * `params` holds every output-changing parameter (sorted, defaults folded), `turns` each chat message
 * (or the prompt) serialised on its own, so the semantic cache can hash "everything before the last
 * user turn" without serialising the conversation again.
 */
export interface CanonicalRequest {
  operation: Operation;
  model: string;
  params: string;
  turns: string[];
}

export function canonicalRequest(
  operation: Operation,
  request: ChatCompletionRequest | CompletionRequest,
): CanonicalRequest {
  const params: Record<string, unknown> = {};
  for (const key of Object.keys(request)) {
    const value = (request as Record<string, unknown>)[key];
    // OpenAI reads an explicit null as "use the default", the same as leaving the field out.
    if (value === null || value === undefined || deliveryOnly.has(key)) continue;
    params[key] = value;
  }
  foldDefaults(params);
  const turns =
    operation === "chat.completions"
      ? (request as ChatCompletionRequest).messages.map(messageJson)
      : [canonicalJson((request as CompletionRequest).prompt)];
  return { operation, model: request.model, params: canonicalJson(params), turns };
}

/** Spellings that mean the same thing to every engine become one. */
function foldDefaults(params: Record<string, unknown>): void {
  if (params.n === 1) delete params.n;
  if (params.best_of === 1) delete params.best_of;
  if (typeof params.stop === "string") params.stop = [params.stop];
  if (Array.isArray(params.stop) && params.stop.length === 0) delete params.stop;
  // Chat's newer name for the same limit.
  if (params.max_completion_tokens !== undefined && params.max_tokens === undefined) {
    params.max_tokens = params.max_completion_tokens;
    delete params.max_completion_tokens;
  }
}

/** The common message shape is written directly; anything richer goes through the generic path. */
function messageJson(message: ChatCompletionRequest["messages"][number]): string {
  const keys = Object.keys(message);
  if (typeof message.content === "string" && keys.length === 2 && "role" in message)
    return `{"content":${JSON.stringify(message.content)},"role":${JSON.stringify(message.role)}}`;
  return canonicalJson(message);
}
