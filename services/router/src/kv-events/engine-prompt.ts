/**
 * The text a vLLM engine prefills, rebuilt from the prompt the router is given.
 *
 * The router hashes the engine's own prompt text, token for token; one character of difference (a
 * missing BOS, another role marker) and no block ever matches. The gateway renders chat messages
 * with the kit's template (`<s><|role|>\n…<|end|>\n…<|assistant|>\n`, engine-sim's) and prefixes
 * completions with `<s>`. For engine-sim that is the engine's text ("as-sent"). A vLLM engine renders
 * the model's Jinja chat template instead, so the router parses the kit's rendering back into
 * messages and renders them with the engine's template: a preset (`llama3`: Meta Llama 3.0 Instruct;
 * `chatml`: `<|im_start|>` models without an injected system prompt) or one given in configuration.
 * A completion becomes the template's BOS (what the tokenizer adds) followed by its text; a prompt
 * that does not start with the kit's BOS was not rendered by the kit and is taken as it is.
 *
 * This reproduces templates that format each message the same way; a template with more logic
 * (Llama 3.1's dated system header, tool formatting, Qwen 2.5's default system prompt unless set
 * here) must be configured to match exactly, or the gateway must send the engine's own rendering.
 */
import { BOS_TEXT } from "@strata/kit";

export interface PromptTemplate {
  /** What starts every prompt: the BOS token text the template writes and the tokenizer adds. */
  bos: string;
  /** One message, with `{role}` and `{content}` placeholders. */
  message: string;
  /** Appended when the request asks for a reply (the kit's rendering ends with `<|assistant|>\n`). */
  generationPrompt: string;
  /** Jinja's `| trim` on message content (Llama 3 templates). */
  trimContent: boolean;
  /** A system message the template adds when the conversation has none. */
  defaultSystem?: string;
}

export const PROMPT_TEMPLATES = {
  llama3: {
    bos: "<|begin_of_text|>",
    message: "<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>",
    generationPrompt: "<|start_header_id|>assistant<|end_header_id|>\n\n",
    trimContent: true,
  },
  chatml: {
    bos: "",
    message: "<|im_start|>{role}\n{content}<|im_end|>\n",
    generationPrompt: "<|im_start|>assistant\n",
    trimContent: false,
  },
} as const satisfies Record<string, PromptTemplate>;

interface ParsedChat {
  messages: { role: string; content: string }[];
  addGenerationPrompt: boolean;
}

const roleHeader = /<\|([^|<>\n]+)\|>\n/y;
const endMarker = "<|end|>\n";
const generationMarker = "<|assistant|>\n";

/** The kit's chat rendering back into messages; null when the text is not one. */
export function parseKitChatPrompt(prompt: string): ParsedChat | null {
  if (!prompt.startsWith(BOS_TEXT)) return null;
  const messages: ParsedChat["messages"] = [];
  let position = BOS_TEXT.length;
  for (;;) {
    if (prompt.length === position)
      return messages.length > 0 ? { messages, addGenerationPrompt: false } : null;
    if (prompt.length - position === generationMarker.length && prompt.endsWith(generationMarker)) {
      return messages.length > 0 ? { messages, addGenerationPrompt: true } : null;
    }
    roleHeader.lastIndex = position;
    const header = roleHeader.exec(prompt);
    if (!header) return null;
    const contentStart = position + header[0].length;
    const end = messageEnd(prompt, contentStart);
    if (end < 0) return null;
    messages.push({ role: header[1] as string, content: prompt.slice(contentStart, end) });
    position = end + endMarker.length;
  }
}

/** The first `<|end|>\n` followed by the end, a role header or the generation prompt. */
function messageEnd(prompt: string, from: number): number {
  for (let end = prompt.indexOf(endMarker, from); end >= 0; end = prompt.indexOf(endMarker, end + 1)) {
    const after = end + endMarker.length;
    if (after === prompt.length) return end;
    roleHeader.lastIndex = after;
    if (roleHeader.test(prompt)) return end;
  }
  return -1;
}

const whiteSpace = /\p{White_Space}/u;

/** Python's str.isspace() for one UTF-16 unit: Unicode whitespace and the separators U+001C-U+001F. */
function isPythonSpace(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return (code >= 0x1c && code <= 0x1f) || whiteSpace.test(text[index] as string);
}

/** Python's str.strip(), which Jinja's `trim` filter applies. */
function pythonStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPythonSpace(text, start)) start++;
  while (end > start && isPythonSpace(text, end - 1)) end--;
  return text.slice(start, end);
}

/** Renders what the router receives into the engine's prompt text with `template`. */
export function createPromptRenderer(template: PromptTemplate): (prompt: string) => string {
  const renderMessage = (role: string, content: string) =>
    template.message
      .replace("{role}", () => role)
      .replace("{content}", () => (template.trimContent ? pythonStrip(content) : content));
  let lastInput: string | undefined;
  let lastOutput = "";
  return (prompt) => {
    // decide and onRouted render the same prompt back to back.
    if (prompt === lastInput) return lastOutput;
    const chat = parseKitChatPrompt(prompt);
    let rendered: string;
    if (chat === null) {
      // A completion the gateway prefixed with the kit's BOS; text from elsewhere is taken as it is.
      rendered = prompt.startsWith(BOS_TEXT) ? template.bos + prompt.slice(BOS_TEXT.length) : prompt;
    } else {
      rendered = template.bos;
      if (template.defaultSystem !== undefined && chat.messages[0]?.role !== "system") {
        rendered += renderMessage("system", template.defaultSystem);
      }
      for (const message of chat.messages) rendered += renderMessage(message.role, message.content);
      if (chat.addGenerationPrompt) rendered += template.generationPrompt;
    }
    lastInput = prompt;
    lastOutput = rendered;
    return rendered;
  };
}
