/**
 * TGI /generate and /generate_stream answers → OpenAI chat.completion / text_completion bodies and
 * chunks, with usage (TGI's x-prompt-tokens header or the stream's input_length) and logprobs
 * (details.tokens and top_tokens) when the client asked for them.
 */
import { randomUUID } from "node:crypto";
import { StrataError } from "@strata/kit";
import type { Operation } from "../../openai/request-schemas.js";

export interface TgiToken {
  id: number;
  text: string;
  logprob: number | null;
  special: boolean;
}

interface TgiDetails {
  finish_reason: string;
  generated_tokens: number;
  input_length?: number;
  tokens?: TgiToken[];
  top_tokens?: TgiToken[][];
}

export interface TgiTranslation {
  operation: Operation;
  model: string;
  /** logprobs wanted: chat `logprobs: true`, or completions `logprobs: n`. */
  logprobs: boolean;
  created: number;
}

export function finishReason(reason: string | undefined): string {
  return reason === "length" ? "length" : "stop";
}

function newId(operation: Operation): string {
  const hex = randomUUID().replaceAll("-", "");
  return operation === "chat.completions" ? `chatcmpl-${hex}` : `cmpl-${hex}`;
}

function usage(prompt: number, completion: number) {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function chatLogprob(token: TgiToken, top: TgiToken[] | undefined) {
  const entry = (t: TgiToken) => ({
    token: t.text,
    logprob: t.logprob ?? 0,
    bytes: [...Buffer.from(t.text)],
  });
  return { ...entry(token), top_logprobs: (top ?? []).map(entry) };
}

/** OpenAI's legacy completions logprobs: parallel arrays, top choices as {text: logprob} maps. */
function legacyLogprobs(tokens: TgiToken[], tops: (TgiToken[] | undefined)[], offset: number) {
  let position = offset;
  return {
    tokens: tokens.map((token) => token.text),
    token_logprobs: tokens.map((token) => token.logprob ?? 0),
    top_logprobs: tokens.map((_token, index) =>
      Object.fromEntries((tops[index] ?? []).map((top) => [top.text, top.logprob ?? 0])),
    ),
    text_offset: tokens.map((token) => {
      const at = position;
      position += token.text.length;
      return at;
    }),
  };
}

export function toOpenAiBody(
  answer: { generated_text: string; details?: TgiDetails },
  promptTokens: number,
  context: TgiTranslation,
): Record<string, unknown> {
  const details = answer.details;
  const tokens = (details?.tokens ?? []).filter((token) => !token.special);
  const tops = details?.top_tokens ?? [];
  const completionTokens = details?.generated_tokens ?? tokens.length;
  const reason = finishReason(details?.finish_reason);
  const header = { id: newId(context.operation), created: context.created, model: context.model };
  if (context.operation === "completions") {
    return {
      ...header,
      object: "text_completion",
      choices: [
        {
          index: 0,
          text: answer.generated_text,
          logprobs: context.logprobs ? legacyLogprobs(tokens, tops, 0) : null,
          finish_reason: reason,
        },
      ],
      usage: usage(promptTokens, completionTokens),
    };
  }
  return {
    ...header,
    object: "chat.completion",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: answer.generated_text, refusal: null },
        logprobs: context.logprobs
          ? { content: tokens.map((token, index) => chatLogprob(token, tops[index])), refusal: null }
          : null,
        finish_reason: reason,
      },
    ],
    usage: usage(promptTokens, completionTokens),
  };
}

interface TgiStreamEvent {
  index: number;
  token?: TgiToken;
  top_tokens?: TgiToken[];
  generated_text: string | null;
  details: TgiDetails | null;
  error?: string;
  error_type?: string;
}

/** /generate_stream events → OpenAI chunks, ending with a finish chunk, a usage chunk and [DONE]. */
export async function* tgiToOpenAiChunks(
  events: AsyncIterable<string>,
  context: TgiTranslation,
): AsyncGenerator<string> {
  const chat = context.operation === "chat.completions";
  const header = {
    id: newId(context.operation),
    object: chat ? "chat.completion.chunk" : "text_completion",
    created: context.created,
    model: context.model,
  };
  const chunk = (choice: Record<string, unknown>) =>
    JSON.stringify({ ...header, choices: [{ index: 0, ...choice }] });
  let offset = 0;
  let started = false;
  for await (const data of events) {
    const event = JSON.parse(data) as TgiStreamEvent;
    if (event.error !== undefined)
      throw new StrataError(
        "upstream_error",
        `TGI failed mid-stream (${event.error_type ?? "error"}): ${event.error}`,
      );
    if (chat && !started)
      yield chunk({ delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null });
    started = true;
    const token = event.token && !event.token.special ? event.token : undefined;
    const text = token?.text ?? "";
    const last = event.details !== null && event.details !== undefined;
    const reason = last ? finishReason(event.details?.finish_reason) : null;
    let logprobs: unknown = null;
    if (context.logprobs && token)
      logprobs = chat
        ? { content: [chatLogprob(token, event.top_tokens)], refusal: null }
        : legacyLogprobs([token], [event.top_tokens], offset);
    offset += text.length;
    if (text !== "" || last)
      yield chat
        ? chunk({ delta: text === "" ? {} : { content: text }, logprobs, finish_reason: reason })
        : chunk({ text, logprobs, finish_reason: reason });
    if (last) {
      const details = event.details!;
      yield JSON.stringify({
        ...header,
        choices: [],
        usage: usage(details.input_length ?? 0, details.generated_tokens),
      });
      yield "[DONE]";
      return;
    }
  }
  throw new StrataError("upstream_error", "TGI's stream ended before its last token.");
}
