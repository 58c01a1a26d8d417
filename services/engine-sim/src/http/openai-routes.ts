/** POST /v1/chat/completions and /v1/completions, streaming and not (vLLM; TGI serves them too). */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ChoiceSpec, runChoices } from "../engine/run-choices.js";
import { applyFaultBeforeAnswer, type ErrorFlavor } from "../faults/apply-fault.js";
import type { OutputPlan } from "../generation/output-plan.js";
import { replyText, type StructuredReply } from "../generation/structured-reply.js";
import { lastUserText, renderChatTemplate } from "../model/chat-template.js";
import { type EngineContext, TGI_VERSION } from "./context.js";
import { ApiError, badRequest } from "./errors.js";
import {
  buildUsage,
  chatCompletionBody,
  chatDeltaChunk,
  chatRoleChunk,
  completionBody,
  completionDeltaChunk,
  newResponseMeta,
  usageChunk,
} from "./openai-format.js";
import {
  chatCompletionRequestSchema,
  completionRequestSchema,
  parseRequest,
  type SamplingSettings,
  samplingSettings,
} from "./openai-schemas.js";
import { openAiStructuredReply } from "./openai-structured.js";
import { readJson, SseWriter, sendJson } from "./respond.js";
import { ToolCallStreamer, withToolCalls } from "./tool-call-format.js";

interface PromptInput {
  tokenIds: number[];
  matchText: string;
}

export async function handleChatCompletions(
  context: EngineContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = parseRequest(chatCompletionRequestSchema, await readJson(request));
  const model = checkModel(context, body.model);
  const sampling = samplingSettings(body, body.max_completion_tokens ?? body.max_tokens);
  const rendered = renderChatTemplate(body.messages, body.add_generation_prompt ?? true);
  const prompt = { tokenIds: context.tokenizer.encode(rendered), matchText: lastUserText(body.messages) };
  const structured = openAiStructuredReply(context.planner, body, prompt.matchText, prompt.tokenIds);
  const fault = context.faults.take(prompt.matchText, request.headers["x-sim-fault"]);
  if (await applyFaultBeforeAnswer(fault, faultFlavor(context), response, sampling.stream)) return;
  execute(context, "chat", model, [prompt], sampling, request, response, {
    structured,
    dropAfter: fault?.dropAfterChunks,
  });
}

export async function handleCompletions(
  context: EngineContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = parseRequest(completionRequestSchema, await readJson(request));
  const model = checkModel(context, body.model);
  const sampling = samplingSettings(body, body.max_tokens);
  const raw = body.prompt;
  const prompts: PromptInput[] = [];
  const encode = (text: string) => ({
    tokenIds: context.tokenizer.encode(text, { addSpecialTokens: true }),
    matchText: text,
  });
  if (typeof raw === "string") prompts.push(encode(raw));
  else if (raw.every((item) => typeof item === "string")) prompts.push(...(raw as string[]).map(encode));
  else if (raw.every((item) => typeof item === "number"))
    prompts.push({ tokenIds: raw as number[], matchText: "" });
  else prompts.push(...(raw as number[][]).map((tokenIds) => ({ tokenIds, matchText: "" })));
  const fault = context.faults.take(prompts[0]?.matchText ?? "", request.headers["x-sim-fault"]);
  if (await applyFaultBeforeAnswer(fault, faultFlavor(context), response, sampling.stream)) return;
  execute(context, "completion", model, prompts, sampling, request, response, {
    dropAfter: fault?.dropAfterChunks,
  });
}

/** vLLM rejects unknown model names; TGI serves whatever name the client sends. */
function checkModel(context: EngineContext, requested: string | null | undefined): string {
  if (context.options.api === "tgi") return context.options.model;
  if (requested == null || requested === context.options.model) return context.options.model;
  throw new ApiError("not_found", `The model \`${requested}\` does not exist.`);
}

/** vLLM's _validate_input: prompt must leave room for one token; max_tokens must fit the rest. */
export function effectiveMaxTokens(
  context: EngineContext,
  promptTokens: number,
  maxTokens: number | null,
): number {
  const limit = context.options.maxModelLen;
  if (promptTokens >= limit) {
    throw badRequest(
      `This model's maximum context length is ${limit} tokens. However, your request has ${promptTokens} input tokens. Please reduce the length of the input messages.`,
      "input_tokens",
    );
  }
  if (maxTokens !== null && promptTokens + maxTokens > limit) {
    throw badRequest(
      `'max_tokens' or 'max_completion_tokens' is too large: ${maxTokens}. This model's maximum context length is ${limit} tokens and your request has ${promptTokens} input tokens (${maxTokens} > ${limit} - ${promptTokens}).`,
      "max_tokens",
    );
  }
  return maxTokens ?? limit - promptTokens;
}

function execute(
  context: EngineContext,
  kind: "chat" | "completion",
  model: string,
  prompts: PromptInput[],
  sampling: SamplingSettings,
  request: IncomingMessage,
  response: ServerResponse,
  extras: { structured?: StructuredReply | undefined; dropAfter?: number | undefined } = {},
): void {
  const { structured } = extras;
  const reply = replyText(structured);
  const specs: ChoiceSpec[] = [];
  for (const prompt of prompts) {
    const maxTokens = effectiveMaxTokens(context, prompt.tokenIds.length, sampling.maxTokens);
    context.tgi?.requestValidated(prompt.tokenIds.length, maxTokens);
    for (let choice = 0; choice < sampling.n; choice++) {
      const plan = context.planner.plan({
        matchText: prompt.matchText,
        promptTokenIds: prompt.tokenIds,
        seed: sampling.seed,
        choiceIndex: choice,
        maxTokens,
        minTokens: sampling.minTokens,
        ignoreEos: sampling.ignoreEos,
        stop: sampling.stop,
        reply,
      });
      specs.push({ promptTokenIds: prompt.tokenIds, plan });
    }
  }
  const tgi = context.options.api === "tgi";
  const meta = newResponseMeta(kind, model, tgi ? "tgi" : "vllm", tgi ? `${TGI_VERSION}-native` : null);
  const plans = specs.map((spec) => spec.plan);
  const promptTokens = prompts.reduce((sum, prompt) => sum + prompt.tokenIds.length, 0);
  const usageOf = (cached: number[]) => {
    const completion = plans.reduce((sum, plan) => sum + plan.tokenIds.length, 0);
    const cachedTokens = prompts.reduce((sum, _prompt, index) => sum + (cached[index * sampling.n] ?? 0), 0);
    return buildUsage(
      promptTokens,
      completion,
      cachedTokens,
      context.options.enablePromptTokensDetails && !tgi,
    );
  };

  let done = false;
  const sse = sampling.stream ? new SseWriter(response, tgi ? "data:" : "data: ") : undefined;
  sse?.dropAfter(extras.dropAfter);
  sse?.start();
  const calls = structured?.kind === "tool_calls" ? structured.calls : undefined;
  const toolStreams = calls
    ? plans.map((_plan, choice) => new ToolCallStreamer(meta, choice, calls))
    : undefined;
  const run = runChoices(context.driver, specs, {
    onToken: sse
      ? (choice, index) =>
          streamToken(sse, kind, meta, choice, index, plans[choice] as OutputPlan, toolStreams?.[choice])
      : undefined,
    onComplete: (cached) => {
      done = true;
      const usage = usageOf(cached);
      if (!sse) {
        const body =
          kind === "chat" ? chatCompletionBody(meta, plans, usage) : completionBody(meta, plans, usage);
        return sendJson(response, 200, calls ? withToolCalls(body, calls, plans) : body);
      }
      if (sampling.includeUsage) sse.send(usageChunk(meta, kind, usage));
      sse.send("[DONE]");
      sse.end();
    },
    onAborted: () => {
      done = true;
      if (sse) sse.end();
      else
        sendJson(response, 503, {
          error: { message: "engine shutting down", type: "ServiceUnavailableError", param: null, code: 503 },
        });
    },
  });
  // A client that goes away mid-request aborts its sequences, freeing their KV blocks (as vLLM does).
  response.on("close", () => {
    if (!done) {
      done = true;
      run.abort();
    }
  });
  request.on("error", () => run.abort());
}

function streamToken(
  sse: SseWriter,
  kind: "chat" | "completion",
  meta: ReturnType<typeof newResponseMeta>,
  choice: number,
  index: number,
  plan: OutputPlan,
  toolStream?: ToolCallStreamer,
): void {
  const last = index === plan.tokenIds.length - 1 ? plan : null;
  const text = plan.deltas[index] ?? "";
  if (kind === "chat") {
    if (index === 0) sse.send(chatRoleChunk(meta, choice));
    if (toolStream) {
      for (const chunk of toolStream.chunks(text, last)) sse.send(chunk);
      return;
    }
    sse.send(chatDeltaChunk(meta, choice, text, last));
  } else {
    sse.send(completionDeltaChunk(meta, choice, text, last));
  }
}

/** Injected errors look like the engine's own: TGI's body on a TGI replica, vLLM's otherwise. */
function faultFlavor(context: EngineContext): ErrorFlavor {
  return context.options.api === "tgi" ? "tgi" : "vllm";
}
