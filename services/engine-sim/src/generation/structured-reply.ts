/**
 * What a chat request's answer is made of when it is not free text: tool calls (the request offers
 * tools and a scripted rule calls one, or tool_choice forces one) or a JSON document (JSON mode or a
 * JSON schema). The text the engine then "generates" token by token is the calls' arguments or the
 * document, so timing, usage and streaming follow the same model as any other answer.
 */
import { jsonFromSchema } from "./json-from-schema.js";
import { randomWords } from "./random-text.js";
import type { ScriptedToolCall } from "./script.js";

export interface OfferedTool {
  name: string;
  /** JSON schema of the arguments. */
  parameters: unknown;
}

export type ToolChoice = "none" | "auto" | "required" | { name: string };

export interface StructuredRequest {
  tools: readonly OfferedTool[];
  toolChoice: ToolChoice;
  /** "object" for JSON mode without a schema, a schema for json_schema, undefined for text. */
  json: "object" | { schema: unknown } | undefined;
  /** The first scripted rule matching the request's text. */
  rule: { reply?: string | undefined; toolCalls?: ScriptedToolCall[] | undefined } | undefined;
}

export interface ToolCallReply {
  name: string;
  arguments: string;
}

export type StructuredReply = { kind: "tool_calls"; calls: ToolCallReply[] } | { kind: "json"; text: string };

export function structuredReply(
  request: StructuredRequest,
  random: () => number,
): StructuredReply | undefined {
  const calls = toolCalls(request, random);
  if (calls) return { kind: "tool_calls", calls };
  if (!request.json) return undefined;
  const scripted = request.rule?.reply;
  if (scripted && isJson(scripted)) return { kind: "json", text: scripted };
  if (request.json === "object")
    return { kind: "json", text: JSON.stringify({ answer: randomWords(random, 8).trim() }) };
  return { kind: "json", text: JSON.stringify(jsonFromSchema(request.json.schema, random)) };
}

function toolCalls(request: StructuredRequest, random: () => number): ToolCallReply[] | undefined {
  if (request.tools.length === 0 || request.toolChoice === "none") return undefined;
  const offered = new Map(request.tools.map((tool) => [tool.name, tool]));
  const choice = request.toolChoice;
  const forced = typeof choice === "object" ? choice.name : undefined;
  const scripted = (request.rule?.toolCalls ?? []).filter(
    (call) => offered.has(call.name) && (forced === undefined || call.name === forced),
  );
  if (scripted.length > 0)
    return scripted.map((call) => ({ name: call.name, arguments: JSON.stringify(call.arguments) }));
  if (choice === "auto") return undefined;
  const tool = forced !== undefined ? offered.get(forced) : request.tools[0];
  if (!tool) return undefined;
  return [{ name: tool.name, arguments: JSON.stringify(jsonFromSchema(tool.parameters, random) ?? {}) }];
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The text the engine generates for a structured answer: the JSON document, or the calls' arguments. */
export function replyText(structured: StructuredReply | undefined): string | undefined {
  return structured?.kind === "json"
    ? structured.text
    : structured?.calls.map((call) => call.arguments).join("");
}

/** The generated text split back into each call's arguments (shorter when max_tokens cut it). */
export function splitCallArguments(text: string, calls: readonly ToolCallReply[]): string[] {
  const parts: string[] = [];
  let start = 0;
  for (const end of callBoundaries(calls)) {
    if (start >= text.length && parts.length > 0) break;
    parts.push(text.slice(start, Math.min(end, text.length)));
    start = end;
  }
  return parts;
}

/** Cuts streamed argument text into pieces that each lie within one call, for streaming call by call. */
export class CallArgumentCutter {
  private offset = 0;
  private readonly ends: number[];

  constructor(calls: readonly ToolCallReply[]) {
    this.ends = callBoundaries(calls);
  }

  /** Hands each piece of `delta` to `piece` with its call's index, in order; text past the last call is dropped. */
  cut(delta: string, piece: (call: number, text: string) => void): void {
    let remaining = delta;
    while (remaining.length > 0) {
      const call = this.ends.findIndex((end) => end > this.offset);
      if (call === -1) return;
      const text = remaining.slice(0, (this.ends[call] as number) - this.offset);
      piece(call, text);
      this.offset += text.length;
      remaining = remaining.slice(text.length);
    }
  }
}

/** Where each call's arguments end in the generated text. */
function callBoundaries(calls: readonly ToolCallReply[]): number[] {
  const ends: number[] = [];
  let end = 0;
  for (const call of calls) {
    end += call.arguments.length;
    ends.push(end);
  }
  return ends;
}
