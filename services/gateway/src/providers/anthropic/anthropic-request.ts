/**
 * OpenAI chat request → Anthropic Messages request. System and developer messages become the
 * top-level `system`; tool calls become `tool_use` blocks and tool messages `tool_result` blocks in a
 * user turn; consecutive turns of one role merge, as the Messages API expects them to alternate.
 * What the Messages API cannot do (n > 1, logprobs, logit_bias, penalties, JSON mode without a
 * schema) is refused with a 400 naming the field, never silently dropped.
 */
import { StrataError } from "@strata/kit";
import type { ChatCompletionRequest } from "../../openai/request-schemas.js";
import { contentText } from "../content-text.js";

type Block = Record<string, unknown>;
interface AnthropicMessage {
  role: "user" | "assistant";
  content: Block[];
}

export interface AnthropicRequestOptions {
  model: string;
  /** max_tokens when the client sets none: the Messages API requires one. */
  defaultMaxTokens: number;
}

function refuse(param: string, what: string): never {
  throw new StrataError("invalid_request", `${what} is not supported by Anthropic's Messages API.`, {
    param,
  });
}

export function toAnthropicRequest(
  request: ChatCompletionRequest,
  options: AnthropicRequestOptions,
): Record<string, unknown> {
  checkUnsupported(request);
  const { system, messages } = translateMessages(request.messages);
  const body: Record<string, unknown> = {
    model: options.model,
    max_tokens: request.max_completion_tokens ?? request.max_tokens ?? options.defaultMaxTokens,
    messages,
  };
  if (system) body.system = system;
  if (request.stop != null)
    body.stop_sequences = typeof request.stop === "string" ? [request.stop] : request.stop;
  if (request.temperature != null) {
    // Anthropic's range is 0–1; OpenAI's 0–2. Scaling would change the meaning, so say so instead.
    if (request.temperature > 1) refuse("temperature", "A temperature above 1");
    body.temperature = request.temperature;
  }
  if (request.top_p != null) body.top_p = request.top_p;
  const topK = (request as { top_k?: unknown }).top_k;
  if (typeof topK === "number") body.top_k = topK;
  if (request.user) body.metadata = { user_id: request.user };
  if (request.stream) body.stream = true;
  Object.assign(body, translateTools(request));
  const format = request.response_format;
  if (format?.type === "json_schema") {
    const schema = (format as { json_schema?: { schema?: unknown } }).json_schema?.schema;
    body.output_config = { format: { type: "json_schema", schema: schema ?? { type: "object" } } };
  }
  return body;
}

function checkUnsupported(request: ChatCompletionRequest): void {
  if ((request.n ?? 1) > 1) refuse("n", "More than one choice (n > 1)");
  if (request.logprobs) refuse("logprobs", "logprobs");
  if (request.top_logprobs) refuse("top_logprobs", "top_logprobs");
  if (request.logit_bias && Object.keys(request.logit_bias).length > 0) refuse("logit_bias", "logit_bias");
  if (request.frequency_penalty) refuse("frequency_penalty", "frequency_penalty");
  if (request.presence_penalty) refuse("presence_penalty", "presence_penalty");
  if (request.response_format?.type === "json_object")
    refuse("response_format", "JSON mode without a schema (use response_format json_schema)");
  // `seed` is a best-effort hint in OpenAI's API too ("determinism is not guaranteed"), so an
  // upstream without one still honours the contract; it is dropped rather than refused.
}

function translateMessages(messages: ChatCompletionRequest["messages"]): {
  system: string;
  messages: AnthropicMessage[];
} {
  const system: string[] = [];
  const out: AnthropicMessage[] = [];
  const push = (role: "user" | "assistant", blocks: Block[]) => {
    const last = out.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  messages.forEach((message, index) => {
    const path = `messages[${index}]`;
    switch (message.role) {
      case "system":
      case "developer":
        system.push(textOf(message.content, path));
        break;
      case "user":
        push("user", contentBlocks(message.content, path));
        break;
      case "assistant":
        push("assistant", assistantBlocks(message, path));
        break;
      case "tool":
        push("user", [
          {
            type: "tool_result",
            tool_use_id: message.tool_call_id ?? "",
            content: textOf(message.content, path),
          },
        ]);
        break;
      default:
        refuse(`${path}.role`, `The '${message.role}' role`);
    }
  });
  return { system: system.join("\n\n"), messages: out };
}

function textOf(content: unknown, path: string): string {
  return contentText(content, (type, index) =>
    refuse(`${path}.content[${index}].type`, `A '${type}' content part here`),
  );
}

function contentBlocks(content: unknown, path: string): Block[] {
  if (content == null) return [];
  if (typeof content === "string") return [{ type: "text", text: content }];
  return (content as { type: string; text?: string; image_url?: { url?: string } }[]).map((part, index) => {
    if (part.type === "text") return { type: "text", text: part.text ?? "" };
    if (part.type === "image_url") return imageBlock(part.image_url?.url ?? "", `${path}.content[${index}]`);
    return refuse(`${path}.content[${index}].type`, `A '${part.type}' content part`);
  });
}

/** data: URLs become base64 sources, http(s) URLs url sources. */
function imageBlock(url: string, path: string): Block {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { type: "image", source: { type: "base64", media_type: data[1], data: data[2] } };
  if (/^https?:\/\//.test(url)) return { type: "image", source: { type: "url", url } };
  return refuse(`${path}.image_url.url`, "An image that is neither a data: URL nor an http(s) URL");
}

function assistantBlocks(message: ChatCompletionRequest["messages"][number], path: string): Block[] {
  const blocks: Block[] = [];
  const text = textOf(message.content, path);
  if (text) blocks.push({ type: "text", text });
  (message.tool_calls ?? []).forEach((call, index) => {
    const fn = (call as { function?: { name?: string; arguments?: string } }).function;
    blocks.push({
      type: "tool_use",
      id: (call as { id?: string }).id ?? "",
      name: fn?.name ?? "",
      input: parseArguments(fn?.arguments, `${path}.tool_calls[${index}].function.arguments`),
    });
  });
  return blocks;
}

function parseArguments(text: string | undefined, param: string): unknown {
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new StrataError("invalid_request", "Tool call arguments must be a JSON object.", { param });
  }
}

function translateTools(request: ChatCompletionRequest): Record<string, unknown> {
  const tools = request.tools ?? [];
  const choice = request.tool_choice;
  if (tools.length === 0) return {};
  const translated = tools.map((tool, index) => {
    const fn = (tool as { function?: { name?: string; description?: string; parameters?: unknown } })
      .function;
    if (tool.type !== "function" || !fn) refuse(`tools[${index}].type`, `A '${tool.type}' tool`);
    return {
      name: fn.name,
      ...(fn.description ? { description: fn.description } : {}),
      input_schema: fn.parameters ?? { type: "object", properties: {} },
    };
  });
  const parallel = (request as { parallel_tool_calls?: boolean }).parallel_tool_calls;
  const noParallel = parallel === false ? { disable_parallel_tool_use: true } : {};
  let toolChoice: Record<string, unknown> | undefined;
  if (choice === "none") toolChoice = { type: "none" };
  else if (choice === "required") toolChoice = { type: "any", ...noParallel };
  else if (choice === undefined || choice === "auto") toolChoice = { type: "auto", ...noParallel };
  else if (typeof choice === "object" && (choice as { type?: string }).type === "function") {
    const name = (choice as { function?: { name?: string } }).function?.name;
    toolChoice = { type: "tool", name, ...noParallel };
  } else refuse("tool_choice", "This tool_choice");
  return { tools: translated, tool_choice: toolChoice };
}
