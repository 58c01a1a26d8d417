/**
 * The simulator's fixed chat template (stands in for a model's Jinja template):
 *
 *   <s><|system|>\n{content}<|end|>\n<|user|>\n{content}<|end|>\n ... <|assistant|>\n
 *
 * Each message is `<|{role}|>\n{content}<|end|>\n`; the prompt starts with the BOS token `<s>` and,
 * with add_generation_prompt (the default), ends with `<|assistant|>\n`. Roles with a special token
 * (system, user, assistant, tool, developer) render it as one token; any other role is plain text.
 * Content may be a string or a list of parts; only `text` parts contribute.
 */
export interface ChatContentPart {
  type: string;
  text?: string;
}

export interface ChatMessage {
  role: string;
  content?: string | ChatContentPart[] | null;
}

export function messageText(message: ChatMessage): string {
  const { content } = message;
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content
    .filter((part) => part.type === "text" && typeof part.text === "string")
    .map((part) => part.text)
    .join("\n");
}

export function renderChatTemplate(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
  let rendered = "<s>";
  for (const message of messages) rendered += `<|${message.role}|>\n${messageText(message)}<|end|>\n`;
  if (addGenerationPrompt) rendered += "<|assistant|>\n";
  return rendered;
}

/** The text scripted replies are matched against: the last user message. */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index] as ChatMessage;
    if (message.role === "user") return messageText(message);
  }
  return "";
}
