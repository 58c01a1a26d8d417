import type { StoredAnswer } from "./stored-answer.js";

/** A long answer is replayed in at most this many content chunks (a few words each), not one per word. */
const MAX_CONTENT_CHUNKS = 256;
const ARGUMENT_PIECE_CHARS = 32;

interface StoredChoice {
  index?: number;
  message?: {
    role?: string;
    content?: string | null;
    refusal?: string | null;
    tool_calls?: { id?: string; type?: string; function?: { name?: string; arguments?: string } }[];
  };
  text?: string;
  finish_reason?: string | null;
}

interface StoredBody {
  id?: string;
  created?: number;
  model?: string;
  system_fingerprint?: string | null;
  choices?: StoredChoice[];
  usage?: unknown;
}

/**
 * A stored answer as the SSE data payloads an OpenAI-compatible engine would have streamed: a role
 * chunk, the content a few words at a time, tool calls with their arguments in pieces, the
 * finish_reason, the usage chunk when the client asked for it (stream_options.include_usage), then
 * [DONE]. Undefined when the stored body is not an answer it understands.
 */
export function replayEvents(answer: StoredAnswer, includeUsage: boolean): string[] | undefined {
  let body: StoredBody;
  try {
    body = JSON.parse(answer.body.toString("utf8")) as StoredBody;
  } catch {
    return undefined;
  }
  if (!Array.isArray(body.choices)) return undefined;
  const chat = answer.operation === "chat.completions";
  const base = {
    id: body.id,
    object: chat ? "chat.completion.chunk" : "text_completion",
    created: body.created,
    model: body.model,
    ...(body.system_fingerprint ? { system_fingerprint: body.system_fingerprint } : {}),
  };
  // OpenAI sends `usage: null` on every chunk but the last when usage was asked for.
  const usageField = includeUsage ? { usage: null } : {};
  const events: string[] = [];
  const emit = (choice: Record<string, unknown>) =>
    events.push(JSON.stringify({ ...base, choices: [choice], ...usageField }));
  for (const choice of body.choices) {
    if (chat) replayChatChoice(choice, emit);
    else replayTextChoice(choice, emit);
  }
  if (includeUsage && body.usage) events.push(JSON.stringify({ ...base, choices: [], usage: body.usage }));
  events.push("[DONE]");
  return events;
}

type Emit = (choice: Record<string, unknown>) => void;

function replayChatChoice(choice: StoredChoice, emit: Emit): void {
  const index = choice.index ?? 0;
  const message = choice.message ?? {};
  const delta = (fields: Record<string, unknown>) =>
    emit({ index, delta: fields, logprobs: null, finish_reason: null });
  delta({ role: message.role ?? "assistant", content: "" });
  for (const piece of textPieces(message.content ?? "")) delta({ content: piece });
  if (message.refusal) delta({ refusal: message.refusal });
  (message.tool_calls ?? []).forEach((call, callIndex) => {
    const name = call.function?.name ?? "";
    delta({
      tool_calls: [
        { index: callIndex, id: call.id, type: call.type ?? "function", function: { name, arguments: "" } },
      ],
    });
    const args = call.function?.arguments ?? "";
    for (let start = 0; start < args.length; start += ARGUMENT_PIECE_CHARS)
      delta({
        tool_calls: [
          { index: callIndex, function: { arguments: args.slice(start, start + ARGUMENT_PIECE_CHARS) } },
        ],
      });
  });
  emit({ index, delta: {}, logprobs: null, finish_reason: choice.finish_reason ?? "stop" });
}

function replayTextChoice(choice: StoredChoice, emit: Emit): void {
  const index = choice.index ?? 0;
  for (const piece of textPieces(choice.text ?? ""))
    emit({ index, text: piece, logprobs: null, finish_reason: null });
  emit({ index, text: "", logprobs: null, finish_reason: choice.finish_reason ?? "stop" });
}

/**
 * Splits text the way a tokenizer-driven stream arrives: each piece a word with the whitespace before
 * it, grouped so that no answer takes more than MAX_CONTENT_CHUNKS chunks. Joined, the pieces are the
 * text exactly (trailing whitespace included).
 */
export function textPieces(text: string): string[] {
  if (text.length === 0) return [];
  const words: string[] = text.match(/\s*\S+/g) ?? [];
  let consumed = 0;
  for (const word of words) consumed += word.length;
  if (consumed < text.length) words.push(text.slice(consumed));
  const perChunk = Math.ceil(words.length / MAX_CONTENT_CHUNKS);
  if (perChunk <= 1) return words;
  const pieces: string[] = [];
  for (let start = 0; start < words.length; start += perChunk)
    pieces.push(words.slice(start, start + perChunk).join(""));
  return pieces;
}
