/** Anthropic Messages answers → OpenAI chat completion shapes (bodies, usage, finish reasons, errors). */

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

interface AnthropicBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

export interface AnthropicMessage {
  id: string;
  model: string;
  content: AnthropicBlock[];
  stop_reason: string | null;
  usage: AnthropicUsage;
}

const finishReasons: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

export function finishReason(stopReason: string | null | undefined): string {
  return (stopReason && finishReasons[stopReason]) || "stop";
}

/**
 * Anthropic counts cache reads and cache writes apart from `input_tokens`; OpenAI's prompt_tokens is
 * the whole prompt, with cache reads reported inside it as cached_tokens.
 */
export function openAiUsage(usage: AnthropicUsage) {
  const cached = usage.cache_read_input_tokens ?? 0;
  const prompt = (usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) + cached;
  const completion = usage.output_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
  };
}

export function toOpenAiCompletion(message: AnthropicMessage, created: number): Record<string, unknown> {
  const text = message.content
    .filter((block) => block.type === "text")
    .map((block) => block.text ?? "")
    .join("");
  const toolCalls = message.content
    .filter((block) => block.type === "tool_use")
    .map((block) => ({
      id: block.id ?? "",
      type: "function",
      function: { name: block.name ?? "", arguments: JSON.stringify(block.input ?? {}) },
    }));
  return {
    id: message.id,
    object: "chat.completion",
    created,
    model: message.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text === "" && toolCalls.length > 0 ? null : text,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(message.stop_reason),
      },
    ],
    usage: openAiUsage(message.usage),
  };
}

const errorTypes: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "invalid_request_error",
  413: "invalid_request_error",
  429: "rate_limit_error",
};

/** `{type:"error", error:{type, message}}` → OpenAI's `{error:{message, type, param, code}}`. */
export function toOpenAiError(status: number, body: Buffer): Buffer {
  let message = `Anthropic answered HTTP ${status}.`;
  let code: string | null = null;
  try {
    const json = JSON.parse(body.toString("utf8")) as { error?: { type?: string; message?: string } };
    message = json.error?.message ?? message;
    code = json.error?.type ?? null;
  } catch {
    // not JSON: keep the generic message
  }
  const type = errorTypes[status] ?? "server_error";
  return Buffer.from(JSON.stringify({ error: { message, type, param: null, code } }));
}
