/**
 * OpenAI response bodies in the exact shapes vLLM produces (vllm/entrypoints/openai/protocol.py):
 * non-streaming responses carry vLLM's extra null fields; stream chunks are serialised with
 * exclude_unset, so they carry only what vLLM sets.
 */
import { randomUUID } from "node:crypto";
import type { OutputPlan } from "../generation/output-plan.js";

export type ApiFlavor = "vllm" | "tgi";

export interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens: number } | null;
}

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
  flavor: ApiFlavor;
  systemFingerprint: string | null;
}

export function newResponseMeta(
  kind: "chat" | "completion",
  model: string,
  flavor: ApiFlavor,
  fingerprint: string | null,
): ResponseMeta {
  const hex = randomUUID().replaceAll("-", "");
  return {
    id: kind === "chat" ? `chatcmpl-${hex}` : `cmpl-${hex}`,
    created: Math.floor(Date.now() / 1000),
    model,
    flavor,
    systemFingerprint: fingerprint,
  };
}

/** vLLM only reports cached tokens with --enable-prompt-tokens-details and a non-zero hit. */
export function buildUsage(
  promptTokens: number,
  completionTokens: number,
  cachedTokens: number,
  details: boolean,
): Usage {
  return {
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completionTokens,
    completion_tokens: completionTokens,
    prompt_tokens_details: details && cachedTokens > 0 ? { cached_tokens: cachedTokens } : null,
  };
}

/** Streamed usage omits null fields (exclude_none), as vLLM's final usage chunk does. */
function streamedUsage(usage: Usage): Usage {
  const { prompt_tokens_details, ...rest } = usage;
  return prompt_tokens_details ? usage : rest;
}

export function chatCompletionBody(meta: ResponseMeta, plans: readonly OutputPlan[], usage: Usage): unknown {
  return {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    choices: plans.map((plan, index) => ({
      index,
      message: {
        role: "assistant",
        content: plan.text,
        refusal: null,
        annotations: null,
        audio: null,
        function_call: null,
        tool_calls: [],
        reasoning_content: null,
      },
      logprobs: null,
      finish_reason: plan.finishReason,
      stop_reason: plan.stopReason,
    })),
    service_tier: null,
    system_fingerprint: meta.systemFingerprint,
    usage,
    prompt_logprobs: null,
    kv_transfer_params: null,
  };
}

export function completionBody(meta: ResponseMeta, plans: readonly OutputPlan[], usage: Usage): unknown {
  return {
    id: meta.id,
    object: "text_completion",
    created: meta.created,
    model: meta.model,
    choices: plans.map((plan, index) => ({
      index,
      text: plan.text,
      logprobs: null,
      finish_reason: plan.finishReason,
      stop_reason: plan.stopReason,
      prompt_logprobs: null,
    })),
    service_tier: null,
    system_fingerprint: meta.systemFingerprint,
    usage,
    kv_transfer_params: null,
  };
}

function chunkHeader(meta: ResponseMeta, object: string) {
  const header: Record<string, unknown> = { id: meta.id, object, created: meta.created, model: meta.model };
  if (meta.flavor === "tgi") header.system_fingerprint = meta.systemFingerprint;
  return header;
}

/** The first chunk of a chat choice: the assistant role with empty content. */
export function chatRoleChunk(meta: ResponseMeta, index: number): unknown {
  return {
    ...chunkHeader(meta, "chat.completion.chunk"),
    choices: [{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }],
  };
}

export function chatDeltaChunk(
  meta: ResponseMeta,
  index: number,
  text: string,
  plan: OutputPlan | null,
): unknown {
  const choice: Record<string, unknown> = {
    index,
    delta: { content: text },
    logprobs: null,
    finish_reason: null,
  };
  if (plan) {
    choice.finish_reason = plan.finishReason;
    choice.stop_reason = plan.stopReason;
  }
  return { ...chunkHeader(meta, "chat.completion.chunk"), choices: [choice] };
}

export function completionDeltaChunk(
  meta: ResponseMeta,
  index: number,
  text: string,
  plan: OutputPlan | null,
): unknown {
  return {
    ...chunkHeader(meta, "text_completion"),
    choices: [
      {
        index,
        text,
        logprobs: null,
        finish_reason: plan ? plan.finishReason : null,
        stop_reason: plan ? plan.stopReason : null,
      },
    ],
  };
}

export function usageChunk(meta: ResponseMeta, kind: "chat" | "completion", usage: Usage): unknown {
  const object = kind === "chat" ? "chat.completion.chunk" : "text_completion";
  return { ...chunkHeader(meta, object), choices: [], usage: streamedUsage(usage) };
}
