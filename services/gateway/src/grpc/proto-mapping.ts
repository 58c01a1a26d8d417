import type { MessageInitShape } from "@bufbuild/protobuf";
import { type ErrorCode, StrataError } from "@strata/kit";
import type { gatewayV1 } from "@strata/proto";

type Params = gatewayV1.SamplingParams | undefined;

/** SamplingParams → the OpenAI body fields they stand for (unset fields stay unset). */
function samplingFields(params: Params): Record<string, unknown> {
  if (!params) return {};
  const fields: Record<string, unknown> = {
    max_tokens: params.maxTokens,
    temperature: params.temperature,
    top_p: params.topP,
    seed: params.seed === undefined ? undefined : Number(params.seed),
    presence_penalty: params.presencePenalty,
    frequency_penalty: params.frequencyPenalty,
    stop: params.stop.length > 0 ? params.stop : undefined,
    user: params.user || undefined,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

export function chatBody(
  request: { model: string; messages: gatewayV1.ChatMessage[]; params?: Params },
  stream: boolean,
): unknown {
  return {
    model: request.model,
    messages: request.messages.map((message) => ({
      role: message.role,
      content: message.content,
      ...(message.name ? { name: message.name } : {}),
    })),
    ...samplingFields(request.params),
    ...streamFields(stream),
  };
}

/** gRPC streams always end with a usage chunk (see StreamChatCompletionResponse.usage). */
function streamFields(stream: boolean): Record<string, unknown> {
  return stream ? { stream, stream_options: { include_usage: true } } : { stream };
}

export function completionBody(
  request: { model: string; prompt: string; params?: Params },
  stream: boolean,
): unknown {
  return {
    model: request.model,
    prompt: request.prompt,
    ...samplingFields(request.params),
    ...streamFields(stream),
  };
}

interface OpenAiUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

export function usageMessage(
  usage: OpenAiUsage | null | undefined,
): MessageInitShape<typeof gatewayV1.UsageSchema> | undefined {
  if (!usage) return undefined;
  return {
    promptTokens: usage.prompt_tokens ?? 0,
    completionTokens: usage.completion_tokens ?? 0,
    totalTokens: usage.total_tokens ?? 0,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
  };
}

const codeByStatus: Record<number, ErrorCode> = {
  400: "invalid_request",
  401: "invalid_api_key",
  404: "not_found",
  413: "payload_too_large",
  429: "rate_limit_exceeded",
};

/** An engine's non-200 JSON answer as the StrataError a gRPC caller should see. */
export function errorFromHttp(status: number, body: Buffer): StrataError {
  let message = `The model replica answered HTTP ${status}.`;
  try {
    message =
      (JSON.parse(body.toString("utf8")) as { error?: { message?: string } }).error?.message ?? message;
  } catch {
    // keep the generic message
  }
  return new StrataError(codeByStatus[status] ?? "upstream_error", message);
}
