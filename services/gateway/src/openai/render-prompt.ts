import { renderChatTemplate, renderCompletionPrompt } from "@strata/kit";
import type { ChatCompletionRequest, CompletionRequest, Operation } from "./request-schemas.js";

/**
 * The prompt text as the engine will see it, which the router uses for prefix-aware routing and to
 * estimate tokens before the engine counts them. Chat messages go through the engine's chat template
 * (shared with engine-sim through the kit) so the router's token blocks match the engine's byte for byte.
 */
export function renderPrompt(
  operation: Operation,
  request: ChatCompletionRequest | CompletionRequest,
): string {
  if (operation === "completions") {
    const prompt = (request as CompletionRequest).prompt;
    return typeof prompt === "string" ? renderCompletionPrompt(prompt) : JSON.stringify(prompt);
  }
  return renderChatTemplate((request as ChatCompletionRequest).messages);
}

/** About four characters per token for English text: good enough to plan, corrected by the engine's count. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
