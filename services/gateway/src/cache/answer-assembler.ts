import type { Operation } from "../openai/request-schemas.js";

interface ToolCallDelta {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

interface ChunkChoice {
  index?: number;
  delta?: { role?: string; content?: string | null; refusal?: string | null; tool_calls?: ToolCallDelta[] };
  text?: string;
  finish_reason?: string | null;
}

interface Chunk {
  id?: string;
  created?: number;
  model?: string;
  system_fingerprint?: string | null;
  choices?: ChunkChoice[];
  usage?: Record<string, unknown> | null;
  error?: unknown;
}

interface ChoiceState {
  role: string;
  content: string | undefined;
  refusal: string | undefined;
  text: string;
  toolCalls: Map<number, { id: string; type: string; name: string; arguments: string }>;
  finishReason: string | undefined;
}

export interface AssembledAnswer {
  body: Buffer;
  servedModel: string;
  usage: Record<string, unknown> | undefined;
}

/**
 * Rebuilds the complete answer a non-streamed request would have received from a stream's SSE data
 * payloads. Undefined unless the stream is whole: it ended with [DONE], carried no error, and every
 * choice reached a finish_reason — a cut-off answer must never be served from the cache.
 */
export function assembleAnswer(operation: Operation, events: readonly string[]): AssembledAnswer | undefined {
  if (events.at(-1) !== "[DONE]") return undefined;
  const choices = new Map<number, ChoiceState>();
  let head: Chunk | undefined;
  let usage: Record<string, unknown> | undefined;
  for (let index = 0; index < events.length - 1; index++) {
    let chunk: Chunk;
    try {
      chunk = JSON.parse(events[index]!) as Chunk;
    } catch {
      return undefined;
    }
    if (chunk.error !== undefined) return undefined;
    head ??= chunk;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices ?? []) addDelta(choices, choice);
  }
  if (!head || choices.size === 0) return undefined;
  for (const choice of choices.values()) if (choice.finishReason === undefined) return undefined;
  const ordered = [...choices.entries()].sort(([a], [b]) => a - b);
  const body = {
    id: head.id,
    object: operation === "chat.completions" ? "chat.completion" : "text_completion",
    created: head.created,
    model: head.model,
    ...(head.system_fingerprint ? { system_fingerprint: head.system_fingerprint } : {}),
    choices: ordered.map(([index, choice]) =>
      operation === "chat.completions"
        ? { index, message: message(choice), logprobs: null, finish_reason: choice.finishReason }
        : { index, text: choice.text, logprobs: null, finish_reason: choice.finishReason },
    ),
    ...(usage ? { usage } : {}),
  };
  return { body: Buffer.from(JSON.stringify(body)), servedModel: head.model ?? "", usage };
}

function addDelta(choices: Map<number, ChoiceState>, choice: ChunkChoice): void {
  const index = choice.index ?? 0;
  let state = choices.get(index);
  if (!state) {
    state = {
      role: "assistant",
      content: undefined,
      refusal: undefined,
      text: "",
      toolCalls: new Map(),
      finishReason: undefined,
    };
    choices.set(index, state);
  }
  const delta = choice.delta;
  if (delta) {
    if (delta.role) state.role = delta.role;
    if (typeof delta.content === "string") state.content = (state.content ?? "") + delta.content;
    if (typeof delta.refusal === "string") state.refusal = (state.refusal ?? "") + delta.refusal;
    for (const call of delta.tool_calls ?? []) addToolCall(state, call);
  }
  if (typeof choice.text === "string") state.text += choice.text;
  if (choice.finish_reason) state.finishReason = choice.finish_reason;
}

function addToolCall(state: ChoiceState, delta: ToolCallDelta): void {
  const index = delta.index ?? state.toolCalls.size;
  let call = state.toolCalls.get(index);
  if (!call) {
    call = { id: "", type: "function", name: "", arguments: "" };
    state.toolCalls.set(index, call);
  }
  if (delta.id) call.id = delta.id;
  if (delta.type) call.type = delta.type;
  if (delta.function?.name) call.name += delta.function.name;
  if (delta.function?.arguments) call.arguments += delta.function.arguments;
}

function message(choice: ChoiceState): Record<string, unknown> {
  const calls = [...choice.toolCalls.entries()].sort(([a], [b]) => a - b);
  return {
    role: choice.role,
    content: choice.content ?? (calls.length > 0 ? null : ""),
    ...(choice.refusal !== undefined ? { refusal: choice.refusal } : {}),
    ...(calls.length > 0
      ? {
          tool_calls: calls.map(([, call]) => ({
            id: call.id,
            type: call.type,
            function: { name: call.name, arguments: call.arguments },
          })),
        }
      : {}),
  };
}
