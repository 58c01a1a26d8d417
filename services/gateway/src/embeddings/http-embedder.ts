import { LinkedAbort, StrataError } from "@strata/kit";
import { Agent, request, errors as undiciErrors } from "undici";
import type { Embedder, EmbeddingBatch, EmbedOptions } from "./embedder.js";
import { decodeBase64Vector } from "./vector-encoding.js";

export interface HttpEmbedderOptions {
  /** Up to and including the API version, e.g. `http://tei:8080/v1`; `/embeddings` is appended. */
  baseUrl: string;
  model: string;
  apiKey?: string | undefined;
  dimensions?: number | undefined;
  timeoutMs: number;
  maxBatchSize: number;
  maxConcurrency: number;
}

interface UpstreamAnswer {
  data?: { index?: number; embedding?: number[] | string }[];
  usage?: { prompt_tokens?: number };
}

/**
 * Any OpenAI-compatible `/v1/embeddings` server (OpenAI, TEI, vLLM, Ollama, another Strata gateway):
 * large requests are split into batches the upstream accepts and sent a few at a time.
 */
export class HttpEmbedder implements Embedder {
  readonly supportsDimensions = true;
  readonly provider = "openai";
  readonly id: string;
  readonly model: string;
  private knownDimensions: number | undefined;
  private readonly agent: Agent;
  private readonly url: string;

  constructor(private readonly options: HttpEmbedderOptions) {
    this.model = options.model;
    this.knownDimensions = options.dimensions;
    this.url = `${options.baseUrl.replace(/\/+$/, "")}/embeddings`;
    this.id = `openai:${this.url}:${options.model}:${options.dimensions ?? "native"}`;
    this.agent = new Agent({
      connections: 64,
      connect: { timeout: Math.min(options.timeoutMs, 10_000) },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  get dimensions(): number | undefined {
    return this.knownDimensions;
  }

  async embed(inputs: readonly string[], options: EmbedOptions = {}): Promise<EmbeddingBatch> {
    const batches: string[][] = [];
    for (let start = 0; start < inputs.length; start += this.options.maxBatchSize)
      batches.push(inputs.slice(start, start + this.options.maxBatchSize));
    const results: EmbeddingBatch[] = new Array(batches.length);
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const index = next++;
        results[index] = await this.call(batches[index]!, options);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.maxConcurrency, batches.length) }, worker));
    const vectors = results.flatMap((result) => result.vectors);
    if (options.dimensions === undefined && vectors[0]) this.knownDimensions ??= vectors[0].length;
    return { vectors, promptTokens: results.reduce((sum, result) => sum + result.promptTokens, 0) };
  }

  private async call(inputs: string[], options: EmbedOptions): Promise<EmbeddingBatch> {
    const dimensions = options.dimensions ?? this.options.dimensions;
    const body = { model: this.options.model, input: inputs, ...(dimensions ? { dimensions } : {}) };
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const abort = new LinkedAbort(options.signal, { timeoutMs: this.options.timeoutMs });
    let response: Awaited<ReturnType<typeof request>>;
    let text: string;
    try {
      response = await request(this.url, {
        method: "POST",
        dispatcher: this.agent,
        headers,
        body: JSON.stringify(body),
        signal: abort.signal,
      });
      text = await response.body.text();
    } catch (error) {
      throw this.failure(error, options.signal);
    } finally {
      abort.dispose();
    }
    if (response.statusCode !== 200) throw upstreamRefusal(response.statusCode, text, this.url);
    return parseAnswer(text, inputs.length, this.url);
  }

  private failure(error: unknown, clientSignal: AbortSignal | undefined): StrataError {
    if (clientSignal?.aborted) return new StrataError("client_closed", "The client closed the request.");
    const timedOut =
      (error as Error)?.name === "TimeoutError" ||
      error instanceof undiciErrors.HeadersTimeoutError ||
      error instanceof undiciErrors.BodyTimeoutError;
    if (timedOut)
      return new StrataError("timeout", `The embedding backend at ${this.url} did not answer in time.`, {
        cause: error,
      });
    return new StrataError("upstream_error", `Could not reach the embedding backend at ${this.url}.`, {
      cause: error,
    });
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/**
 * The upstream's refusal as the client should see it: its 400-class complaints about the input are
 * the client's to fix; a refused credential or a failure on its side is the gateway's problem.
 */
function upstreamRefusal(status: number, text: string, url: string): StrataError {
  let detail = "";
  try {
    const json = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    detail = (typeof json.error === "string" ? json.error : json.error?.message) ?? json.message ?? "";
  } catch {
    detail = text.slice(0, 200);
  }
  const suffix = detail ? `: ${detail}` : ".";
  if (status === 400 || status === 413 || status === 422)
    return new StrataError("invalid_request", `The embedding backend refused the input${suffix}`);
  if (status === 429)
    return new StrataError("rate_limit_exceeded", `The embedding backend is rate limiting${suffix}`);
  return new StrataError(
    "upstream_error",
    `The embedding backend at ${url} answered HTTP ${status}${suffix}`,
  );
}

function parseAnswer(text: string, expected: number, url: string): EmbeddingBatch {
  let answer: UpstreamAnswer;
  try {
    answer = JSON.parse(text) as UpstreamAnswer;
  } catch (error) {
    throw new StrataError("upstream_error", `The embedding backend at ${url} sent invalid JSON.`, {
      cause: error,
    });
  }
  const data = answer.data ?? [];
  if (data.length !== expected)
    throw new StrataError(
      "upstream_error",
      `The embedding backend at ${url} returned ${data.length} embeddings for ${expected} inputs.`,
    );
  const vectors: Float32Array[] = new Array(expected);
  data.forEach((item, position) => {
    const index = item.index ?? position;
    const embedding = item.embedding;
    if (index < 0 || index >= expected || vectors[index] || embedding === undefined)
      throw new StrataError("upstream_error", `The embedding backend at ${url} sent a malformed answer.`);
    vectors[index] =
      typeof embedding === "string" ? decodeBase64Vector(embedding) : Float32Array.from(embedding);
  });
  return { vectors, promptTokens: Number(answer.usage?.prompt_tokens) || 0 };
}
