import { estimateTokens } from "../openai/render-prompt.js";
import type { ChatCompletionRequest, CompletionRequest, Operation } from "../openai/request-schemas.js";
import type { MeteredCall } from "../pipeline/pipeline-steps.js";

/**
 * Tokens a request may use, for the tokens-per-minute check: its prompt (estimated from its length,
 * without building the prompt text) plus the completion it may produce, for each of its `n` choices.
 * An embeddings request produces no completion: its tokens are its inputs, estimated as the built-in
 * embedder counts them.
 */
export function estimateRequestTokens(call: MeteredCall, defaultCompletionTokens: number): number {
  if (call.operation === "embeddings") {
    let tokens = 0;
    for (const input of call.request.inputs) tokens += estimateTokens(input);
    return tokens;
  }
  const request = call.request;
  const maxCompletion =
    ("max_completion_tokens" in request ? request.max_completion_tokens : undefined) ?? request.max_tokens;
  const completion =
    (typeof maxCompletion === "number" ? maxCompletion : defaultCompletionTokens) * (request.n ?? 1);
  return promptTokens(call.operation, request) + completion;
}

function promptTokens(operation: Operation, request: ChatCompletionRequest | CompletionRequest): number {
  if (operation === "completions") {
    const prompt = (request as CompletionRequest).prompt;
    if (typeof prompt === "string") return estimateTokens(prompt);
    // Token ids are tokens already; a list of prompts is the sum of its prompts.
    let tokens = 0;
    for (const part of prompt) {
      if (typeof part === "string") tokens += estimateTokens(part);
      else if (typeof part === "number") tokens += 1;
      else tokens += part.length;
    }
    return tokens;
  }
  let characters = 0;
  for (const message of (request as ChatCompletionRequest).messages) {
    const content = message.content;
    // "role: content\n", as the prompt is rendered for the engine.
    characters += message.role.length + 3;
    if (typeof content === "string") characters += content.length;
    else if (content) characters += JSON.stringify(content).length;
  }
  // One rounding over the whole conversation, at estimateTokens' four characters per token.
  return Math.ceil(characters / 4);
}
