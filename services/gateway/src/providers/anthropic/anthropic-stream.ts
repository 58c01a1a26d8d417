/**
 * Anthropic's streaming events → OpenAI chat.completion.chunk payloads:
 *
 *   message_start                      → a role chunk (prompt usage remembered)
 *   content_block_start text           → nothing (its deltas carry the text)
 *   content_block_start tool_use       → tool_calls[i] with id, type and name, empty arguments
 *   content_block_delta text_delta     → delta.content
 *   content_block_delta input_json_delta → tool_calls[i].function.arguments
 *   message_delta                      → stop reason and output usage remembered
 *   message_stop                       → a finish chunk, a usage chunk, then [DONE]
 *   ping                               → nothing; error → a thrown upstream error
 *
 * Thinking blocks have no OpenAI counterpart and are left out.
 */
import { StrataError } from "@strata/kit";
import { type AnthropicUsage, finishReason, openAiUsage } from "./anthropic-response.js";

interface StreamState {
  id: string;
  model: string;
  created: number;
  usage: AnthropicUsage;
  stopReason: string | null;
  /** Anthropic content-block index → OpenAI tool call index. */
  toolIndex: Map<number, number>;
}

interface AnthropicEvent {
  type: string;
  index?: number;
  message?: { id: string; model: string; usage?: AnthropicUsage };
  content_block?: { type: string; id?: string; name?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

export async function* anthropicToOpenAiChunks(
  events: AsyncIterable<string>,
  created: number,
): AsyncGenerator<string> {
  const state: StreamState = {
    id: "",
    model: "",
    created,
    usage: {},
    stopReason: null,
    toolIndex: new Map(),
  };
  for await (const data of events) {
    const event = JSON.parse(data) as AnthropicEvent;
    if (event.type === "message_stop") {
      yield chunk(state, [
        { index: 0, delta: {}, logprobs: null, finish_reason: finishReason(state.stopReason) },
      ]);
      yield JSON.stringify({ ...header(state), choices: [], usage: openAiUsage(state.usage) });
      yield "[DONE]";
      return;
    }
    const translated = translate(state, event);
    if (translated) yield translated;
  }
  throw new StrataError("upstream_error", "Anthropic's stream ended before message_stop.");
}

function translate(state: StreamState, event: AnthropicEvent): string | undefined {
  switch (event.type) {
    case "message_start":
      state.id = event.message?.id ?? "";
      state.model = event.message?.model ?? "";
      state.usage = { ...event.message?.usage };
      return chunk(state, [delta({ role: "assistant", content: "" })]);
    case "content_block_start": {
      const block = event.content_block;
      if (block?.type !== "tool_use") return undefined;
      const index = state.toolIndex.size;
      state.toolIndex.set(event.index ?? 0, index);
      const call = {
        index,
        id: block.id ?? "",
        type: "function",
        function: { name: block.name ?? "", arguments: "" },
      };
      return chunk(state, [delta({ tool_calls: [call] })]);
    }
    case "content_block_delta":
      return blockDelta(state, event);
    case "message_delta":
      state.stopReason = event.delta?.stop_reason ?? state.stopReason;
      // message_delta's usage is cumulative; fields it leaves null keep their message_start values.
      for (const [key, value] of Object.entries(event.usage ?? {}))
        if (value != null) (state.usage as Record<string, number>)[key] = value as number;
      return undefined;
    case "error":
      throw new StrataError(
        "upstream_error",
        `Anthropic failed mid-stream (${event.error?.type ?? "error"}): ${event.error?.message ?? ""}`,
      );
    default:
      // ping, content_block_stop and event types added later carry nothing a chat chunk shows.
      return undefined;
  }
}

function blockDelta(state: StreamState, event: AnthropicEvent): string | undefined {
  const value = event.delta;
  if (value?.type === "text_delta") return chunk(state, [delta({ content: value.text ?? "" })]);
  if (value?.type === "input_json_delta") {
    const index = state.toolIndex.get(event.index ?? 0);
    if (index === undefined) return undefined;
    return chunk(state, [
      delta({ tool_calls: [{ index, function: { arguments: value.partial_json ?? "" } }] }),
    ]);
  }
  return undefined;
}

function delta(content: Record<string, unknown>) {
  return { index: 0, delta: content, logprobs: null, finish_reason: null };
}

function header(state: StreamState) {
  return { id: state.id, object: "chat.completion.chunk", created: state.created, model: state.model };
}

function chunk(state: StreamState, choices: unknown[]): string {
  return JSON.stringify({ ...header(state), choices });
}
