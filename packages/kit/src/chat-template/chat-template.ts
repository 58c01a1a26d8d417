/**
 * The prompt text Strata's reference engine (engine-sim) prefills for a request, in one place so the
 * engine that renders it and the gateway that sends it to the router for cache-aware routing can never
 * drift apart: the router tokenizes this text and hashes its KV blocks exactly as the engine does, so
 * one byte of difference turns every cache hit into a miss.
 *
 * Chat template (stands in for a model's Jinja template):
 *
 *   <s><|system|>\n{content}<|end|>\n<|user|>\n{content}<|end|>\n ... <|assistant|>\n
 *
 * Each message is `<|{role}|>\n{content}<|end|>\n`; the prompt starts with the BOS token `<s>` and,
 * with add_generation_prompt (the default), ends with `<|assistant|>\n`. Roles with a special token
 * (system, user, assistant, tool, developer) render it as one token; any other role is plain text.
 * Content may be a string or a list of parts; only `text` parts contribute, joined by newlines.
 */

export interface ChatContentPart {
  type: string;
  /** Read only when it is a string; typed loosely so callers' open part objects fit. */
  text?: unknown;
}

export interface ChatMessage {
  role: string;
  content?: string | readonly ChatContentPart[] | null;
}

/** Beginning-of-sequence token text: chat prompts start with it and completions get it prepended. */
export const BOS_TEXT = "<s>";

export function messageText(message: ChatMessage): string {
  const { content } = message;
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  const texts: string[] = [];
  for (const part of content)
    if (part.type === "text" && typeof part.text === "string") texts.push(part.text);
  return texts.join("\n");
}

export function renderChatTemplate(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
  let rendered = BOS_TEXT;
  for (const message of messages) rendered += `<|${message.role}|>\n${messageText(message)}<|end|>\n`;
  if (addGenerationPrompt) rendered += "<|assistant|>\n";
  return rendered;
}

/** What the engine prefills for a text completion: the prompt after the BOS token it adds itself. */
export function renderCompletionPrompt(prompt: string): string {
  return `${BOS_TEXT}${prompt}`;
}
