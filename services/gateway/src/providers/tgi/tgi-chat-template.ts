/**
 * Chat messages → the prompt text TGI's /generate takes. TGI's own chat route applies the model's
 * Jinja template; the native API leaves that to the caller, so the provider is configured with the
 * family its model was trained on. TGI adds the tokenizer's BOS token itself, so none is written here.
 */
import { BOS_TEXT, renderChatTemplate, StrataError } from "@strata/kit";
import type { ChatCompletionRequest } from "../../openai/request-schemas.js";
import { contentText } from "../content-text.js";

export type ChatTemplate = "chatml" | "llama3" | "mistral" | "strata";

interface Turn {
  role: string;
  text: string;
}

export function renderTgiPrompt(template: ChatTemplate, messages: ChatCompletionRequest["messages"]): string {
  const turns = messages.map((message, index) => ({
    role: message.role === "developer" ? "system" : message.role,
    text: contentText(message.content, (type, partIndex) => {
      throw new StrataError(
        "invalid_request",
        `A '${type}' content part is not supported by TGI's generate API.`,
        {
          param: `messages[${index}].content[${partIndex}].type`,
        },
      );
    }),
  }));
  switch (template) {
    case "chatml":
      return `${turns.map((turn) => `<|im_start|>${turn.role}\n${turn.text}<|im_end|>\n`).join("")}<|im_start|>assistant\n`;
    case "llama3":
      return `${turns
        .map((turn) => `<|start_header_id|>${turn.role}<|end_header_id|>\n\n${turn.text}<|eot_id|>`)
        .join("")}<|start_header_id|>assistant<|end_header_id|>\n\n`;
    case "mistral":
      return mistral(turns);
    case "strata":
      // engine-sim's template without the BOS the engine adds itself.
      return renderChatTemplate(turns.map((turn) => ({ role: turn.role, content: turn.text }))).slice(
        BOS_TEXT.length,
      );
  }
}

/** [INST] … [/INST] pairs; a system prompt goes in front of the first user turn, as Mistral's template does. */
function mistral(turns: Turn[]): string {
  const system = turns.filter((turn) => turn.role === "system").map((turn) => turn.text);
  let text = "";
  let pendingSystem = system.length > 0 ? `${system.join("\n\n")}\n\n` : "";
  for (const turn of turns) {
    if (turn.role === "system") continue;
    if (turn.role === "assistant") text += `${turn.text}</s>`;
    else {
      text += `[INST] ${pendingSystem}${turn.text} [/INST]`;
      pendingSystem = "";
    }
  }
  return text;
}
