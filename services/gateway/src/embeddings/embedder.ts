/**
 * An embedding backend: turns texts into vectors. The gateway has one, chosen by `embeddings.backend`;
 * `/v1/embeddings` and the semantic cache both use it.
 */
export interface Embedder {
  /** The model name clients ask for in `/v1/embeddings` and that answers report. */
  readonly model: string;
  /**
   * The backend kind (`local`, `openai`): the provider usage events and the ledger name for the
   * requests it serves, beside the completion providers (`engine`, hosted providers' names).
   */
  readonly provider: string;
  /**
   * Identifies the vector space: vectors from embedders with different ids must never be compared
   * (the semantic cache keys its buckets by it), so it changes with the model, backend and dimensions.
   */
  readonly id: string;
  /** Length of the vectors `embed` returns when no `dimensions` are asked for; undefined until known. */
  readonly dimensions: number | undefined;
  /** Whether `dimensions` can be asked for per request. */
  readonly supportsDimensions: boolean;
  embed(inputs: readonly string[], options?: EmbedOptions): Promise<EmbeddingBatch>;
  close?(): Promise<void>;
}

export interface EmbedOptions {
  /** Length of the returned vectors, where the backend supports choosing it. */
  dimensions?: number;
  signal?: AbortSignal;
}

export interface EmbeddingBatch {
  /** One vector per input, in input order, as the model made it (most models return unit vectors). */
  vectors: Float32Array[];
  /** Tokens the backend counted (or, for the built-in embedder, estimated) over all inputs. */
  promptTokens: number;
}
