/**
 * The simulator's chat template lives in the kit (`renderChatTemplate`), shared with the gateway so
 * the prompt it sends the router for cache-aware routing is byte for byte what this engine prefills.
 */
import { type ChatMessage, messageText } from "@strata/kit";

export { type ChatContentPart, type ChatMessage, messageText, renderChatTemplate } from "@strata/kit";

/** The text scripted replies are matched against: the last user message. */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index] as ChatMessage;
    if (message.role === "user") return messageText(message);
  }
  return "";
}
