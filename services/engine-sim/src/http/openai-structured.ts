/** Reads tools, tool_choice and response_format off an OpenAI chat request for structured replies. */
import type { OutputPlanner } from "../generation/output-plan.js";
import { createPrng, seedFrom } from "../generation/prng.js";
import {
  type OfferedTool,
  type StructuredReply,
  structuredReply,
  type ToolChoice,
} from "../generation/structured-reply.js";
import { badRequest } from "./errors.js";

interface ChatRequestShape {
  tools?: unknown;
  tool_choice?: unknown;
  response_format?: unknown;
  seed?: number | null | undefined;
}

export function openAiStructuredReply(
  planner: OutputPlanner,
  body: ChatRequestShape,
  matchText: string,
  promptTokenIds: readonly number[],
): StructuredReply | undefined {
  const tools = offeredTools(body.tools);
  const choice = toolChoice(body.tool_choice, tools);
  const json = jsonMode(body.response_format);
  // A plain request (no tools, no response_format) has no structured answer: skip the rule scan and seeding.
  if (tools.length === 0 && json === undefined) return undefined;
  const random = createPrng(seedFrom([...promptTokenIds, (body.seed ?? 0) >>> 0, 7]));
  return structuredReply({ tools, toolChoice: choice, json, rule: planner.scriptedRule(matchText) }, random);
}

function offeredTools(value: unknown): OfferedTool[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((tool: { type?: string; function?: { name?: string; parameters?: unknown } }) =>
    tool?.type === "function" && tool.function?.name
      ? [{ name: tool.function.name, parameters: tool.function.parameters }]
      : [],
  );
}

/** vLLM: tool_choice "required" or a named function needs tools; "auto" is the default when tools are given. */
function toolChoice(value: unknown, tools: readonly OfferedTool[]): ToolChoice {
  if (value === undefined || value === null) return tools.length > 0 ? "auto" : "none";
  if (value === "none" || value === "auto" || value === "required") {
    if (value === "required" && tools.length === 0)
      throw badRequest("When using `tool_choice`, `tools` must be set.", "tool_choice");
    return value;
  }
  const name = (value as { function?: { name?: string } }).function?.name;
  if (!name || !tools.some((tool) => tool.name === name))
    throw badRequest(`Tool '${name ?? ""}' has not been passed in \`tools\`.`, "tool_choice");
  return { name };
}

function jsonMode(value: unknown): "object" | { schema: unknown } | undefined {
  const format = value as { type?: string; json_schema?: { schema?: unknown } } | null | undefined;
  if (format?.type === "json_object") return "object";
  if (format?.type === "json_schema") return { schema: format.json_schema?.schema ?? { type: "object" } };
  return undefined;
}
