import { type Logger, StrataError, toStrataError } from "@strata/kit";
import type { AuthContext } from "../auth/api-key-store.js";
import type { GatewayMetrics } from "../pipeline/gateway-metrics.js";
import type {
  Admission,
  Admitter,
  Authorizer,
  MeteredCall,
  RequestOutcome,
  UsageFields,
} from "../pipeline/pipeline-steps.js";
import type { UsageRecorder } from "../usage/usage-recorder.js";
import type { Embedder, EmbeddingBatch } from "./embedder.js";
import type { EmbeddingsRequest } from "./embeddings-request.js";

export interface EmbeddingsServiceDeps {
  embedder: Embedder;
  usage: Pick<UsageRecorder, "record">;
  /** authorize: the key's allowed models, the same step completions pass. */
  authorizer: Authorizer;
  /** admit / settle: rate limits, budgets and the price of the input tokens, as for completions. */
  admitter: Admitter;
  /** strata_gateway_requests_total and the request-duration histogram, as completions feed them. */
  metrics: Pick<GatewayMetrics, "requestFinished">;
  logger: Logger;
  now?: () => number;
}

export interface EmbeddingsCall {
  request: EmbeddingsRequest;
  auth: AuthContext;
  requestId: string;
  signal: AbortSignal;
  /** performance.now() when the request arrived. */
  startedAt: number;
  /**
   * Response headers the steps add (x-ratelimit-*, x-strata-route, retry-after-ms...); the faces send
   * them with the answer and with an error alike.
   */
  headers: Record<string, string>;
}

/** What happened to one call, for settle() and its usage event. */
interface Progress {
  fields: UsageFields;
  admission?: Admission;
  promptTokens: number;
  /** The backend was asked (once: a batch has no fallback chain). */
  attempted: boolean;
  served: boolean;
  failure?: StrataError;
}

/**
 * `/v1/embeddings` behind both faces, through the completions' own steps:
 *
 *   authorize → check the model → admit → embed → settle → metrics → record usage
 *
 * so a key's allowed models, its rate limits and budgets, the price table, the request metrics and the
 * usage ledger treat embeddings as they treat completions.
 */
export class EmbeddingsService {
  private readonly now: () => number;
  private readonly route: string;

  constructor(private readonly deps: EmbeddingsServiceDeps) {
    this.now = deps.now ?? performance.now.bind(performance);
    this.route = `backend=${deps.embedder.provider}; model=${deps.embedder.model}`;
  }

  async create(call: EmbeddingsCall): Promise<EmbeddingBatch> {
    const progress: Progress = { fields: {}, promptTokens: 0, attempted: false, served: false };
    const metered: MeteredCall = {
      operation: "embeddings",
      request: call.request,
      auth: call.auth,
      requestId: call.requestId,
      headers: call.headers,
    };
    try {
      const authorizing = this.deps.authorizer.authorize(metered);
      if (authorizing) await authorizing;
      // Before admission: a request for a model this gateway cannot embed with uses up no limit.
      this.check(call.request);
      progress.admission = await this.deps.admitter.admit(metered, progress.fields);
      progress.attempted = true;
      const batch = await this.deps.embedder.embed(call.request.inputs, {
        ...(call.request.dimensions ? { dimensions: call.request.dimensions } : {}),
        signal: call.signal,
      });
      progress.promptTokens = batch.promptTokens;
      progress.served = true;
      call.headers["x-strata-route"] = this.route;
      return batch;
    } catch (error) {
      progress.failure = call.signal.aborted
        ? new StrataError("client_closed", "The client closed the request.")
        : toStrataError(error);
      throw progress.failure;
    } finally {
      this.finish(call, progress);
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

  /** settle → metrics → record usage, exactly once per call whatever its outcome. */
  private finish(call: EmbeddingsCall, progress: Progress): void {
    const latencyMs = this.now() - call.startedAt;
    const { embedder } = this.deps;
    const { failure } = progress;
    const outcome: RequestOutcome = {
      status: failure?.httpStatus ?? 200,
      usage: { promptTokens: progress.promptTokens, completionTokens: 0, cachedTokens: 0 },
      servedModel: progress.served ? embedder.model : "",
      provider: progress.served ? embedder.provider : "",
      ...(failure ? { errorCode: failure.code } : {}),
    };
    try {
      // Charges the real token count against TPM, frees the concurrency slot, prices the input tokens.
      progress.admission?.settle(outcome, progress.fields);
    } catch (error) {
      this.deps.logger.error({ err: error, requestId: call.requestId }, "settling the admission failed");
    }
    this.deps.metrics.requestFinished(
      "embeddings",
      call.request.model,
      outcome.status,
      latencyMs,
      outcome.usage,
    );
    this.record(call, progress, outcome, latencyMs);
  }

  private record(call: EmbeddingsCall, progress: Progress, outcome: RequestOutcome, latencyMs: number): void {
    const { failure } = progress;
    const attemptFailed = progress.attempted && failure !== undefined && failure.code !== "client_closed";
    this.deps.usage.record({
      requestId: call.requestId,
      tenantId: call.auth.tenantId,
      apiKeyId: call.auth.apiKeyId,
      projectId: call.auth.projectId ?? "",
      model: call.request.model,
      servedModel: outcome.servedModel,
      operation: "embeddings",
      promptTokens: progress.promptTokens,
      latencyMs,
      timeToFirstTokenMs: progress.served ? latencyMs : 0,
      status: outcome.status,
      errorCode: outcome.errorCode ?? "",
      startedAtMs: BigInt(Math.round(Date.now() - latencyMs)),
      provider: outcome.provider,
      attempts: progress.attempted ? 1 : 0,
      fallbackIndex: 0,
      route: progress.served ? this.route : "",
      attemptErrors: attemptFailed
        ? [`${this.deps.embedder.provider}:${this.deps.embedder.model}: ${failure.message}`]
        : [],
      ...progress.fields,
    });
  }
}
