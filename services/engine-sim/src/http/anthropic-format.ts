/**
 * Anthropic Messages API shapes (the official SDK's Message, RawMessageStreamEvent and error types):
 * bodies, streaming events and errors. Usage follows Anthropic's split: `input_tokens` counts only
 * prompt tokens that were not read from cache, `cache_read_input_tokens` those that were — here,
 * the simulated prefix cache's hit, so automatic prefix reuse reports as a cache read.
 */
import { randomUUID } from "node:crypto";
import type { OutputPlan } from "../generation/output-plan.js";
import { splitCallArguments, type ToolCallReply } from "../generation/structured-reply.js";
import type { ApiError, ApiErrorKind } from "./errors.js";

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export function anthropicUsage(
  promptTokens: number,
  cachedTokens: number,
  outputTokens: number,
): AnthropicUsage {
  return {
    input_tokens: promptTokens - cachedTokens,
    output_tokens: outputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cachedTokens,
  };
}

export const messageId = () => `msg_${randomUUID().replaceAll("-", "").slice(0, 24)}`;
export const toolUseId = () => `toolu_${randomUUID().replaceAll("-", "").slice(0, 24)}`;

export function stopReason(plan: OutputPlan, toolCalls: boolean): string {
  if (plan.finishReason === "length") return "max_tokens";
  if (plan.stopReason !== null) return "stop_sequence";
  return toolCalls ? "tool_use" : "end_turn";
}

/** A tool call's input, or {} when max_tokens cut its JSON short. */
export function parseInput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

export function messageBody(
  id: string,
  model: string,
  plan: OutputPlan,
  calls: readonly ToolCallReply[] | undefined,
  usage: AnthropicUsage,
): unknown {
  const content = calls
    ? splitCallArguments(plan.text, calls).map((input, index) => ({
        type: "tool_use",
        id: toolUseId(),
        name: calls[index]?.name,
        input: parseInput(input),
      }))
    : [{ type: "text", text: plan.text }];
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stopReason(plan, calls !== undefined),
    stop_sequence: plan.stopReason,
    usage,
  };
}

const STATUS: Record<ApiErrorKind, { status: number; type: string }> = {
  bad_request: { status: 400, type: "invalid_request_error" },
  validation: { status: 400, type: "invalid_request_error" },
  not_found: { status: 404, type: "not_found_error" },
  overloaded: { status: 529, type: "overloaded_error" },
  unavailable: { status: 503, type: "api_error" },
  internal: { status: 500, type: "api_error" },
};

export function anthropicErrorBody(error: ApiError): { status: number; body: unknown } {
  const { status, type } = STATUS[error.kind];
  return { status, body: { type: "error", error: { type, message: error.message } } };
}
