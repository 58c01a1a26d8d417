import type { ChatCompletionRequest, CompletionRequest, Operation } from "../openai/request-schemas.js";

/** About four characters per token for English text: enough to plan, corrected by the real count. */
const CHARS_PER_TOKEN = 4;

/**
 * Tokens a request may use, for the tokens-per-minute check: its prompt (estimated from its length,
 * without building the prompt text) plus the completion it may produce, for each of its `n` choices.
 */
export function estimateRequestTokens(
  operation: Operation,
  request: ChatCompletionRequest | CompletionRequest,
  defaultCompletionTokens: number,
): number {
  const maxCompletion =
    ("max_completion_tokens" in request ? request.max_completion_tokens : undefined) ?? request.max_tokens;
  const completion =
    (typeof maxCompletion === "number" ? maxCompletion : defaultCompletionTokens) * (request.n ?? 1);
  return promptTokens(operation, request) + completion;
}

function promptTokens(operation: Operation, request: ChatCompletionRequest | CompletionRequest): number {
  if (operation === "completions") {
    const prompt = (request as CompletionRequest).prompt;
    if (typeof prompt === "string") return Math.ceil(prompt.length / CHARS_PER_TOKEN);
    // Token ids are tokens already; a list of prompts is the sum of its prompts.
    let tokens = 0;
    for (const part of prompt) {
      if (typeof part === "string") tokens += Math.ceil(part.length / CHARS_PER_TOKEN);
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
  return Math.ceil(characters / CHARS_PER_TOKEN);
}
