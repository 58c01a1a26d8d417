/**
 * Anthropic's Messages API (`POST /v1/messages`, `GET /v1/models`) over the same engine model: the
 * request is rendered with the simulator's chat template for token counts and prefix caching, and
 * answered as text, tool_use blocks or a JSON document, streamed as Anthropic's named events.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { runChoices } from "../engine/run-choices.js";
import { applyFaultBeforeAnswer } from "../faults/apply-fault.js";
import type { OutputPlan } from "../generation/output-plan.js";
import { createPrng, seedFrom } from "../generation/prng.js";
import {
  CallArgumentCutter,
  replyText,
  type StructuredReply,
  structuredReply,
  type ToolChoice,
} from "../generation/structured-reply.js";
import { type ChatMessage, lastUserText, renderChatTemplate } from "../model/chat-template.js";
import { anthropicUsage, messageBody, messageId, stopReason, toolUseId } from "./anthropic-format.js";
import type { EngineContext } from "./context.js";
import { ApiError, badRequest } from "./errors.js";
import { readJson, SseWriter, sendJson } from "./respond.js";

const block = z.looseObject({ type: z.string() });
const requestSchema = z
  .object({
    model: z.string(),
    max_tokens: z.number().int().min(1),
    messages: z.array(
      z.object({ role: z.enum(["user", "assistant"]), content: z.union([z.string(), z.array(block)]) }),
    ),
    system: z.union([z.string(), z.array(block)]).optional(),
    stop_sequences: z.array(z.string()).optional(),
    stream: z.boolean().optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    metadata: z.object({ user_id: z.string().nullish() }).optional(),
    tools: z
      .array(
        z.looseObject({
          name: z.string(),
          description: z.string().optional(),
          input_schema: z.looseObject({}),
        }),
      )
      .optional(),
    tool_choice: z
      .object({
        type: z.enum(["auto", "any", "tool", "none"]),
        name: z.string().optional(),
        disable_parallel_tool_use: z.boolean().optional(),
      })
      .optional(),
    output_config: z
      .object({ format: z.object({ type: z.literal("json_schema"), schema: z.looseObject({}) }).nullish() })
      .optional(),
  })
  // The Messages API refuses fields it does not know ("Extra inputs are not permitted").
  .strict();
type MessagesRequest = z.infer<typeof requestSchema>;

function parse(body: unknown): MessagesRequest {
  const parsed = requestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  if (issue.code === "unrecognized_keys")
    throw badRequest(`${issue.keys[0]}: Extra inputs are not permitted`);
  const path = issue.path.map(String).join(".");
  const missing = issue.code === "invalid_type" && issue.message.includes("undefined");
  throw badRequest(`${path}: ${missing ? "Field required" : issue.message}`);
}

/** Header checks the Messages API makes before reading the body. */
export function checkAnthropicHeaders(
  context: EngineContext,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  const key = request.headers["x-api-key"];
  const expected = context.options.apiKey;
  const refuse = (status: number, type: string, message: string) => {
    sendJson(response, status, { type: "error", error: { type, message } });
    return false;
  };
  if (!key) return refuse(401, "authentication_error", "x-api-key header is required");
  if (expected !== undefined && key !== expected)
    return refuse(401, "authentication_error", "invalid x-api-key");
  if (!request.headers["anthropic-version"])
    return refuse(400, "invalid_request_error", "anthropic-version: header is required");
  return true;
}

function text(content: MessagesRequest["messages"][number]["content"]): string {
  if (typeof content === "string") return content;
  return content
    .map((part) => {
      const value = part as { type: string; text?: unknown; input?: unknown; content?: unknown };
      if (value.type === "text") return String(value.text ?? "");
      if (value.type === "tool_use") return JSON.stringify(value.input ?? {});
      if (value.type === "tool_result")
        return typeof value.content === "string" ? value.content : JSON.stringify(value.content ?? "");
      return "";
    })
    .join("\n");
}

function chatMessages(body: MessagesRequest): ChatMessage[] {
  const system =
    typeof body.system === "string"
      ? body.system
      : (body.system ?? []).map((part) => String((part as { text?: unknown }).text ?? "")).join("\n");
  const messages: ChatMessage[] = system ? [{ role: "system", content: system }] : [];
  for (const message of body.messages) messages.push({ role: message.role, content: text(message.content) });
  return messages;
}

function toolChoice(body: MessagesRequest): ToolChoice {
  const choice = body.tool_choice;
  if (!choice) return (body.tools?.length ?? 0) > 0 ? "auto" : "none";
  if (choice.type === "any") return "required";
  if (choice.type === "tool") {
    if (!choice.name || !body.tools?.some((tool) => tool.name === choice.name))
      throw badRequest(`tool_choice.name: tool '${choice.name ?? ""}' not found in tools`);
    return { name: choice.name };
  }
  return choice.type;
}

export async function handleAnthropicMessages(
  context: EngineContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (!checkAnthropicHeaders(context, request, response)) return;
  const body = parse(await readJson(request));
  if (body.model !== context.options.model) throw new ApiError("not_found", `model: ${body.model}`);
  const messages = chatMessages(body);
  const tokenIds = context.tokenizer.encode(renderChatTemplate(messages));
  const limit = context.options.maxModelLen;
  if (tokenIds.length + body.max_tokens > limit)
    throw badRequest(
      `prompt is too long: ${tokenIds.length} tokens + ${body.max_tokens} max_tokens > ${limit} maximum`,
    );
  const matchText = lastUserText(messages);
  const tools = (body.tools ?? []).map((tool) => ({ name: tool.name, parameters: tool.input_schema }));
  const choice = toolChoice(body);
  const json = body.output_config?.format ? { schema: body.output_config.format.schema } : undefined;
  // A plain request (no tools, no output format) has no structured answer: skip the rule scan and seeding.
  const structured =
    tools.length === 0 && json === undefined
      ? undefined
      : structuredReply(
          { tools, toolChoice: choice, json, rule: context.planner.scriptedRule(matchText) },
          createPrng(seedFrom([...tokenIds, 11])),
        );
  const fault = context.faults.take(matchText, request.headers["x-sim-fault"]);
  if (await applyFaultBeforeAnswer(fault, "anthropic", response, body.stream === true)) return;
  const plan = context.planner.plan({
    matchText,
    promptTokenIds: tokenIds,
    choiceIndex: 0,
    maxTokens: body.max_tokens,
    stop: body.stop_sequences ?? [],
    reply: replyText(structured),
  });
  const answer = { id: messageId(), model: context.options.model, tokenIds, plan, structured };
  if (body.stream) return stream(context, answer, response, fault?.dropAfterChunks);
  let done = false;
  const run = runChoices(context.driver, [{ promptTokenIds: tokenIds, plan }], {
    onComplete: ([cached]) => {
      done = true;
      const calls = structured?.kind === "tool_calls" ? structured.calls : undefined;
      const usage = anthropicUsage(tokenIds.length, cached ?? 0, plan.tokenIds.length);
      sendJson(response, 200, messageBody(answer.id, answer.model, plan, calls, usage));
    },
    onAborted: () => {
      done = true;
      sendJson(response, 529, { type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
    },
  });
  response.on("close", () => {
    if (!done) run.abort();
  });
}

interface Answer {
  id: string;
  model: string;
  tokenIds: number[];
  plan: OutputPlan;
  structured: StructuredReply | undefined;
}

function stream(
  context: EngineContext,
  answer: Answer,
  response: ServerResponse,
  dropAfter: number | undefined,
): void {
  const { plan, tokenIds } = answer;
  const sse = new SseWriter(response, "data: ");
  sse.dropAfter(dropAfter);
  sse.start();
  const events = new BlockEvents(sse, answer);
  let cached = 0;
  let done = false;
  const run = runChoices(context.driver, [{ promptTokenIds: tokenIds, plan }], {
    onAdmitted: (_choice, hit) => {
      cached = hit;
      events.start(anthropicUsage(tokenIds.length, hit, 1));
    },
    onToken: (_choice, index) => {
      events.start(anthropicUsage(tokenIds.length, cached, 1));
      events.token(plan.deltas[index] ?? "");
    },
    onComplete: () => {
      done = true;
      events.finish(anthropicUsage(tokenIds.length, cached, plan.tokenIds.length));
      sse.end();
    },
    onAborted: () => {
      done = true;
      sse.send({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, "error");
      sse.end();
    },
  });
  response.on("close", () => {
    if (!done) run.abort();
  });
}

/** The content-block event sequence of one streamed message (text, or one tool_use block per call). */
class BlockEvents {
  private started = false;
  private block = -1;
  private readonly cutter: CallArgumentCutter;

  constructor(
    private readonly sse: SseWriter,
    private readonly answer: Answer,
  ) {
    this.cutter = new CallArgumentCutter(this.calls());
  }

  private calls() {
    return this.answer.structured?.kind === "tool_calls" ? this.answer.structured.calls : [];
  }

  start(usage: ReturnType<typeof anthropicUsage>): void {
    if (this.started) return;
    this.started = true;
    const { id, model } = this.answer;
    const message = {
      id,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    };
    this.sse.send({ type: "message_start", message }, "message_start");
    if (this.calls().length === 0) this.open({ type: "text", text: "" });
    this.sse.send({ type: "ping" }, "ping");
  }

  token(delta: string): void {
    if (this.calls().length === 0) {
      this.send("content_block_delta", { index: this.block, delta: { type: "text_delta", text: delta } });
      return;
    }
    this.cutter.cut(delta, (call, piece) => {
      if (call > this.block) {
        if (this.block >= 0) this.send("content_block_stop", { index: this.block });
        this.open({ type: "tool_use", id: toolUseId(), name: this.calls()[call]?.name, input: {} });
      }
      this.send("content_block_delta", {
        index: this.block,
        delta: { type: "input_json_delta", partial_json: piece },
      });
    });
  }

  finish(usage: ReturnType<typeof anthropicUsage>): void {
    this.start(usage);
    if (this.block >= 0) this.send("content_block_stop", { index: this.block });
    const { plan } = this.answer;
    this.send("message_delta", {
      delta: { stop_reason: stopReason(plan, this.calls().length > 0), stop_sequence: plan.stopReason },
      usage: { output_tokens: usage.output_tokens },
    });
    this.send("message_stop", {});
  }

  private open(contentBlock: Record<string, unknown>): void {
    this.block++;
    this.send("content_block_start", { index: this.block, content_block: contentBlock });
  }

  private send(type: string, fields: Record<string, unknown>): void {
    this.sse.send({ type, ...fields }, type);
  }
}

export function handleAnthropicModels(
  context: EngineContext,
  _request: IncomingMessage,
  response: ServerResponse,
): void {
  const model = context.options.model;
  const created = new Date(context.startedAtSeconds * 1000).toISOString();
  sendJson(response, 200, {
    data: [{ type: "model", id: model, display_name: model, created_at: created }],
    has_more: false,
    first_id: model,
    last_id: model,
  });
}
