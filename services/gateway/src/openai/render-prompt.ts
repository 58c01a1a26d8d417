import type { ChatCompletionRequest, CompletionRequest, Operation } from "./request-schemas.js";

/**
 * The prompt text as the engine will see it (chat messages rendered in order), which the router uses
 * for prefix-aware routing and to estimate tokens before the engine counts them.
 */
export function renderPrompt(
  operation: Operation,
  request: ChatCompletionRequest | CompletionRequest,
): string {
  if (operation === "completions") {
    const prompt = (request as CompletionRequest).prompt;
    return typeof prompt === "string" ? prompt : JSON.stringify(prompt);
  }
  let text = "";
  for (const message of (request as ChatCompletionRequest).messages) {
    const content = message.content;
    text += `${message.role}: ${typeof content === "string" ? content : content ? JSON.stringify(content) : ""}\n`;
  }
  return text;
}

/** About four characters per token for English text: good enough to plan, corrected by the engine's count. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
