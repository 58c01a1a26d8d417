/**
 * TGI's native API (router/src/server.rs): /generate, /generate_stream, / (compat), /info,
 * /tokenize, /v1/models. Validation messages and order follow router/src/validation.rs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { runChoices } from "../engine/run-choices.js";
import { applyFaultBeforeAnswer } from "../faults/apply-fault.js";
import type { OutputPlan } from "../generation/output-plan.js";
import { type EngineContext, TGI_VERSION } from "./context.js";
import { ApiError, validationError } from "./errors.js";
import { readBody, SseWriter, sendJson } from "./respond.js";

const MAX_STOP_SEQUENCES = 4;

const parametersSchema = z.looseObject({
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  top_k: z.number().int().nullish(),
  do_sample: z.boolean().nullish(),
  max_new_tokens: z.number().int().min(0).nullish(),
  return_full_text: z.boolean().nullish(),
  stop: z.array(z.string()).nullish(),
  details: z.boolean().nullish(),
  decoder_input_details: z.boolean().nullish(),
  seed: z.number().int().min(0).nullish(),
});
const generateSchema = z.looseObject({
  inputs: z.string(),
  parameters: parametersSchema.nullish(),
  stream: z.boolean().nullish(),
});
type GenerateRequest = z.infer<typeof generateSchema>;

/** axum's Json extractor: 400 for bad JSON, 422 for a body of the wrong shape, both plain text. */
async function readGenerateRequest(request: IncomingMessage): Promise<GenerateRequest> {
  const text = await readBody(request);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ApiError(
      "bad_request",
      `Failed to parse the request body as JSON: ${(error as Error).message}`,
      null,
      true,
    );
  }
  const parsed = generateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const field = issue.path.map(String).join(".");
    const detail =
      issue.code === "invalid_type" && issue.message.includes("undefined")
        ? `missing field \`${field}\``
        : `${field}: ${issue.message}`;
    throw new ApiError(
      "validation",
      `Failed to deserialize the JSON body into the target type: ${detail}`,
      field,
      true,
    );
  }
  return parsed.data;
}

interface ValidatedGenerate {
  inputs: string;
  promptTokenIds: number[];
  maxNewTokens: number;
  parameters: z.infer<typeof parametersSchema>;
}

function validate(context: EngineContext, body: GenerateRequest): ValidatedGenerate {
  const parameters = body.parameters ?? {};
  if (parameters.temperature != null && parameters.temperature <= 0)
    throw validationError("`temperature` must be strictly positive");
  if (parameters.top_p != null && !(parameters.top_p > 0 && parameters.top_p < 1))
    throw validationError("`top_p` must be > 0.0 and < 1.0");
  if (parameters.top_k != null && parameters.top_k <= 0)
    throw validationError("`top_k` must be strictly positive");
  if (parameters.max_new_tokens === 0) throw validationError("`max_new_tokens` must be strictly positive");
  const stops = parameters.stop ?? [];
  if (stops.length > MAX_STOP_SEQUENCES) {
    throw validationError(
      `\`stop\` supports up to ${MAX_STOP_SEQUENCES} stop sequences. Given: ${stops.length}`,
    );
  }
  if (body.inputs.length === 0) throw validationError("`inputs` cannot be empty");
  const promptTokenIds = context.tokenizer.encode(body.inputs, { addSpecialTokens: true });
  const { maxInputTokens, maxTotalTokens } = tgiLimits(context);
  const inputLength = promptTokenIds.length;
  const maxNewTokens = parameters.max_new_tokens ?? Math.max(1, maxTotalTokens - inputLength);
  if (inputLength + maxNewTokens > maxTotalTokens) {
    throw validationError(
      `\`inputs\` tokens + \`max_new_tokens\` must be <= ${maxTotalTokens}. Given: ${inputLength} \`inputs\` tokens and ${maxNewTokens} \`max_new_tokens\``,
    );
  }
  if (inputLength > maxInputTokens) {
    throw validationError(`\`inputs\` must have less than ${maxInputTokens} tokens. Given: ${inputLength}`);
  }
  context.tgi?.requestValidated(inputLength, maxNewTokens);
  return { inputs: body.inputs, promptTokenIds, maxNewTokens, parameters };
}

export function tgiLimits(context: EngineContext): { maxInputTokens: number; maxTotalTokens: number } {
  return { maxInputTokens: context.options.maxModelLen - 1, maxTotalTokens: context.options.maxModelLen };
}

function tgiFinishReason(plan: OutputPlan): string {
  if (plan.finishReason === "length") return "length";
  return plan.stopReason !== null ? "stop_sequence" : "eos_token";
}

/** A stable pseudo log-probability for a token, in [-2, 0). */
const logprob = (id: number) => -(((Math.imul(id, 2654435761) >>> 0) % 2000) + 1) / 1000;

function token(plan: OutputPlan, index: number) {
  const id = plan.tokenIds[index] as number;
  return { id, text: plan.deltas[index] ?? "", logprob: logprob(id), special: false };
}

export async function handleTgiGenerate(
  context: EngineContext,
  request: IncomingMessage,
  response: ServerResponse,
  compat = false,
): Promise<void> {
  const body = await readGenerateRequest(request);
  if (compat && body.stream) return streamGenerate(context, body, request, response);
  const started = context.driver.now();
  const input = validate(context, body);
  const fault = context.faults.take(input.inputs, request.headers["x-sim-fault"]);
  if (await applyFaultBeforeAnswer(fault, "tgi", response, false)) return;
  const plan = planFor(context, input);
  let done = false;
  const run = runChoices(context.driver, [{ promptTokenIds: input.promptTokenIds, plan }], {
    onComplete: () => {
      done = true;
      const generatedText = (input.parameters.return_full_text ? input.inputs : "") + plan.text;
      const details = input.parameters.details
        ? {
            finish_reason: tgiFinishReason(plan),
            generated_tokens: plan.tokenIds.length,
            seed: input.parameters.seed ?? null,
            prefill: [],
            tokens: plan.tokenIds.map((_id, index) => token(plan, index)),
          }
        : undefined;
      const result = details ? { generated_text: generatedText, details } : { generated_text: generatedText };
      const totalMs = context.driver.now() - started;
      sendJson(response, 200, compat ? [result] : result, {
        "x-compute-type": "gpu+optimized",
        "x-compute-time": (totalMs / 1000).toString(),
        "x-compute-characters": input.inputs.length,
        "x-total-time": Math.round(totalMs),
        "x-validation-time": 0,
        "x-prompt-tokens": input.promptTokenIds.length,
        "x-generated-tokens": plan.tokenIds.length,
      });
    },
    onAborted: () => {
      done = true;
      sendJson(response, 500, { error: "Incomplete generation", error_type: "incomplete_generation" });
    },
  });
  response.on("close", () => {
    if (!done) run.abort();
  });
}

export async function handleTgiGenerateStream(
  context: EngineContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  return streamGenerate(context, await readGenerateRequest(request), request, response);
}

async function streamGenerate(
  context: EngineContext,
  body: GenerateRequest,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const input = validate(context, body);
  const plan = planFor(context, input);
  const fault = context.faults.take(input.inputs, request.headers["x-sim-fault"]);
  if (await applyFaultBeforeAnswer(fault, "tgi", response, true)) return;
  const sse = new SseWriter(response, "data:");
  sse.dropAfter(fault?.dropAfterChunks);
  sse.start({ "x-compute-type": "gpu+optimized", "x-accel-buffering": "no" });
  let done = false;
  const run = runChoices(context.driver, [{ promptTokenIds: input.promptTokenIds, plan }], {
    onToken: (_choice, index) => {
      const last = index === plan.tokenIds.length - 1;
      sse.send({
        index: index + 1,
        token: token(plan, index),
        generated_text: last ? (input.parameters.return_full_text ? input.inputs : "") + plan.text : null,
        details:
          last && input.parameters.details
            ? {
                finish_reason: tgiFinishReason(plan),
                generated_tokens: plan.tokenIds.length,
                seed: input.parameters.seed ?? null,
                input_length: input.promptTokenIds.length,
              }
            : null,
      });
    },
    onComplete: () => {
      done = true;
      sse.end();
    },
    onAborted: () => {
      done = true;
      context.tgi?.requestFailed("incomplete");
      sse.send({ error: "Incomplete generation", error_type: "incomplete_generation" });
      sse.end();
    },
  });
  response.on("close", () => {
    if (!done) run.abort();
  });
}

function planFor(context: EngineContext, input: ValidatedGenerate): OutputPlan {
  return context.planner.plan({
    matchText: input.inputs,
    promptTokenIds: input.promptTokenIds,
    seed: input.parameters.seed,
    choiceIndex: 0,
    maxTokens: input.maxNewTokens,
    stop: input.parameters.stop ?? [],
  });
}

export function handleTgiInfo(
  context: EngineContext,
  _request: IncomingMessage,
  response: ServerResponse,
): void {
  const { maxInputTokens, maxTotalTokens } = tgiLimits(context);
  sendJson(response, 200, {
    model_id: context.options.model,
    model_sha: null,
    model_pipeline_tag: "text-generation",
    max_concurrent_requests: context.options.maxConcurrentRequests,
    max_best_of: 2,
    max_stop_sequences: MAX_STOP_SEQUENCES,
    max_input_tokens: maxInputTokens,
    max_total_tokens: maxTotalTokens,
    validation_workers: 2,
    max_client_batch_size: 4,
    router: "text-generation-router",
    version: TGI_VERSION,
    sha: null,
    docker_label: null,
  });
}

export function handleTgiModels(
  context: EngineContext,
  _request: IncomingMessage,
  response: ServerResponse,
): void {
  const { model } = context.options;
  sendJson(response, 200, {
    object: "list",
    data: [{ id: model, object: "model", created: context.startedAtSeconds, owned_by: model }],
  });
}

export async function handleTgiTokenize(
  context: EngineContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = await readGenerateRequest(request);
  const pieces = context.tokenizer.pieces(body.inputs, { addSpecialTokens: true });
  sendJson(
    response,
    200,
    pieces.map((piece) => ({
      id: piece.id,
      text: piece.special && piece.text === "" ? "<s>" : piece.text,
      start: piece.start,
      stop: piece.end,
    })),
  );
}
