/**
 * OpenAI chat and text completion requests → TGI's native /generate body. Sampling follows TGI's own
 * chat route (router/src/lib.rs): temperature 0 means greedy (do_sample false), top_logprobs becomes
 * top_n_tokens, response_format becomes a JSON grammar; details are always asked for, since they
 * carry the finish reason and token counts. What /generate cannot do is refused with a 400.
 */
import { StrataError } from "@strata/kit";
import type { ChatCompletionRequest, CompletionRequest, Operation } from "../../openai/request-schemas.js";
import { type ChatTemplate, renderTgiPrompt } from "./tgi-chat-template.js";

function refuse(param: string, what: string): never {
  throw new StrataError("invalid_request", `${what} is not supported by TGI's generate API.`, { param });
}

/** Extensions TGI understands under the same name (vLLM-style extras some clients send). */
const passThrough = ["top_k", "repetition_penalty", "typical_p", "truncate", "watermark"] as const;

export function toTgiRequest(
  operation: Operation,
  request: ChatCompletionRequest | CompletionRequest,
  template: ChatTemplate,
): { inputs: string; parameters: Record<string, unknown> } {
  const inputs =
    operation === "chat.completions"
      ? renderTgiPrompt(template, (request as ChatCompletionRequest).messages)
      : promptOf(request as CompletionRequest);
  return { inputs, parameters: parameters(operation, request) };
}

function promptOf(request: CompletionRequest): string {
  const prompt = request.prompt;
  if (typeof prompt === "string") return prompt;
  if (prompt.length === 1 && typeof prompt[0] === "string") return prompt[0];
  return refuse("prompt", "A prompt that is not a single string");
}

function parameters(operation: Operation, request: ChatCompletionRequest | CompletionRequest) {
  checkUnsupported(operation, request);
  const chat = request as ChatCompletionRequest;
  const maxTokens =
    (operation === "chat.completions" ? chat.max_completion_tokens : undefined) ?? request.max_tokens;
  const result: Record<string, unknown> = { details: true, do_sample: request.temperature !== 0 };
  if (maxTokens != null) result.max_new_tokens = maxTokens;
  if (request.temperature != null && request.temperature > 0) result.temperature = request.temperature;
  // TGI wants 0 < top_p < 1; 1 is the same as leaving it out.
  if (request.top_p != null && request.top_p < 1) {
    if (request.top_p <= 0) refuse("top_p", "top_p of 0");
    result.top_p = request.top_p;
  }
  if (request.stop != null) result.stop = typeof request.stop === "string" ? [request.stop] : request.stop;
  if (request.seed != null) {
    if (request.seed < 0) refuse("seed", "A negative seed");
    result.seed = request.seed;
  }
  if (request.frequency_penalty) result.frequency_penalty = request.frequency_penalty;
  const topLogprobs =
    operation === "chat.completions" ? chat.top_logprobs : (request as CompletionRequest).logprobs;
  if (topLogprobs) result.top_n_tokens = topLogprobs;
  const grammar = operation === "chat.completions" ? grammarOf(chat) : undefined;
  if (grammar) result.grammar = grammar;
  for (const field of passThrough) {
    const value = (request as Record<string, unknown>)[field];
    if (value != null) result[field] = value;
  }
  return result;
}

function checkUnsupported(operation: Operation, request: ChatCompletionRequest | CompletionRequest): void {
  if ((request.n ?? 1) > 1) refuse("n", "More than one choice (n > 1)");
  if (request.presence_penalty) refuse("presence_penalty", "presence_penalty");
  if (request.logit_bias && Object.keys(request.logit_bias).length > 0) refuse("logit_bias", "logit_bias");
  if (operation === "completions") {
    const completion = request as CompletionRequest;
    if (completion.echo) refuse("echo", "echo");
    if (completion.suffix) refuse("suffix", "suffix");
    if ((completion.best_of ?? 1) > 1) refuse("best_of", "best_of");
    return;
  }
  const chat = request as ChatCompletionRequest;
  if ((chat.tools?.length ?? 0) > 0 && chat.tool_choice !== "none") refuse("tools", "Tool calling");
}

function grammarOf(request: ChatCompletionRequest): Record<string, unknown> | undefined {
  const format = request.response_format;
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json", value: { type: "object" } };
  const schema = (format as { json_schema?: { schema?: unknown } }).json_schema?.schema;
  return { type: "json", value: schema ?? { type: "object" } };
}
