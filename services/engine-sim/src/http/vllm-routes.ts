/** vLLM's own routes besides the completions: /v1/models, /tokenize, /version. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ChatMessage, renderChatTemplate } from "../model/chat-template.js";
import type { EngineContext } from "./context.js";
import { ApiError } from "./errors.js";
import { parseRequest, tokenizeRequestSchema } from "./openai-schemas.js";
import { readJson, sendJson } from "./respond.js";

export const VLLM_VERSION = "0.11.0";

export function handleVllmModels(
  context: EngineContext,
  _request: IncomingMessage,
  response: ServerResponse,
): void {
  const { model, maxModelLen } = context.options;
  sendJson(response, 200, {
    object: "list",
    data: [
      {
        id: model,
        object: "model",
        created: context.startedAtSeconds,
        owned_by: "vllm",
        root: model,
        parent: null,
        max_model_len: maxModelLen,
        permission: [
          {
            id: `modelperm-${context.startedAtSeconds.toString(16)}`,
            object: "model_permission",
            created: context.startedAtSeconds,
            allow_create_engine: false,
            allow_sampling: true,
            allow_logprobs: true,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: "*",
            group: null,
            is_blocking: false,
          },
        ],
      },
    ],
  });
}

/** vLLM POST /tokenize: a prompt (BOS added unless add_special_tokens=false) or chat messages. */
export async function handleVllmTokenize(
  context: EngineContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = parseRequest(tokenizeRequestSchema, await readJson(request));
  if (body.model != null && body.model !== context.options.model) {
    throw new ApiError("not_found", `The model \`${body.model}\` does not exist.`);
  }
  const tokens =
    "messages" in body
      ? context.tokenizer.encode(
          renderChatTemplate(
            body.messages as ChatMessage[],
            (body.add_generation_prompt as boolean | null) ?? true,
          ),
        )
      : context.tokenizer.encode(body.prompt as string, {
          addSpecialTokens: body.add_special_tokens ?? true,
        });
  sendJson(response, 200, {
    count: tokens.length,
    max_model_len: context.options.maxModelLen,
    tokens,
    token_strs: null,
  });
}

export function handleVllmVersion(
  _context: EngineContext,
  _request: IncomingMessage,
  response: ServerResponse,
): void {
  sendJson(response, 200, { version: VLLM_VERSION });
}
