import { StrataError, toStrataError } from "@strata/kit";
import type { AuthContext } from "../auth/api-key-store.js";
import { authorizeModel } from "../auth/authorize-model.js";
import type { UsageRecorder } from "../usage/usage-recorder.js";
import type { Embedder, EmbeddingBatch } from "./embedder.js";
import type { EmbeddingsRequest } from "./embeddings-request.js";

export interface EmbeddingsServiceDeps {
  embedder: Embedder;
  usage: Pick<UsageRecorder, "record">;
  now?: () => number;
}

export interface EmbeddingsCall {
  request: EmbeddingsRequest;
  auth: AuthContext;
  requestId: string;
  signal: AbortSignal;
  /** performance.now() when the request arrived. */
  startedAt: number;
}

/** `/v1/embeddings` behind both faces: checks the model, embeds, and records one usage event. */
export class EmbeddingsService {
  private readonly now: () => number;

  constructor(private readonly deps: EmbeddingsServiceDeps) {
    this.now = deps.now ?? performance.now.bind(performance);
  }

  get model(): string {
    return this.deps.embedder.model;
  }

  async create(call: EmbeddingsCall): Promise<EmbeddingBatch> {
    let promptTokens = 0;
    let failure: StrataError | undefined;
    try {
      // The same authorize step as completions: a key limited to some models may embed only with those.
      authorizeModel(call.auth, call.request.model);
      this.check(call.request);
      const batch = await this.deps.embedder.embed(call.request.inputs, {
        ...(call.request.dimensions ? { dimensions: call.request.dimensions } : {}),
        signal: call.signal,
      });
      promptTokens = batch.promptTokens;
      return batch;
    } catch (error) {
      failure = call.signal.aborted
        ? new StrataError("client_closed", "The client closed the request.")
        : toStrataError(error);
      throw failure;
    } finally {
      this.record(call, promptTokens, failure);
    }
  }

  private check(request: EmbeddingsRequest): void {
    const { embedder } = this.deps;
    if (request.model !== embedder.model)
      throw new StrataError(
        "model_not_found",
        `The model '${request.model}' does not exist or is not an embedding model; this gateway embeds with '${embedder.model}'.`,
        { param: "model" },
      );
    if (request.dimensions !== undefined && !embedder.supportsDimensions)
      throw new StrataError(
        "invalid_request",
        `The model '${embedder.model}' does not support 'dimensions'.`,
        {
          param: "dimensions",
        },
      );
  }

  private record(call: EmbeddingsCall, promptTokens: number, failure: StrataError | undefined): void {
    const latencyMs = this.now() - call.startedAt;
    this.deps.usage.record({
      requestId: call.requestId,
      tenantId: call.auth.tenantId,
      apiKeyId: call.auth.apiKeyId,
      model: call.request.model,
      servedModel: failure?.code === "model_not_found" ? "" : this.deps.embedder.model,
      operation: "embeddings",
      promptTokens,
      latencyMs,
      timeToFirstTokenMs: latencyMs,
      status: failure?.httpStatus ?? 200,
      errorCode: failure?.code ?? "",
      startedAtMs: BigInt(Math.round(Date.now() - latencyMs)),
    });
  }
}
