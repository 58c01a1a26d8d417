import type { Logger } from "@strata/kit";
import type { Embedder } from "../embeddings/embedder.js";
import type { SemanticEntry, SemanticMatch, VectorIndex } from "./vector-index.js";

export interface SemanticCacheOptions {
  embedder: Embedder;
  index: VectorIndex;
  sweepIntervalMs: number;
  logger: Logger;
}

/** The semantic cache: the gateway's embedder in front of a vector index, with a periodic sweep. */
export class SemanticCache {
  private readonly timer: NodeJS.Timeout;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly options: SemanticCacheOptions) {
    this.timer = setInterval(() => void this.sweep(), options.sweepIntervalMs);
    this.timer.unref();
  }

  get embedderId(): string {
    return this.options.embedder.id;
  }

  /** The text's unit vector, or undefined when it has none (no features, a zero vector). */
  async embed(text: string, signal: AbortSignal): Promise<Float32Array | undefined> {
    const { vectors } = await this.options.embedder.embed([text], { signal });
    return unit(vectors[0]!);
  }

  search(
    tenantId: string,
    bucket: string,
    vector: Float32Array,
    threshold: number,
  ): Promise<SemanticMatch | undefined> {
    return this.options.index.search(tenantId, bucket, vector, threshold);
  }

  insert(entry: SemanticEntry): Promise<void> {
    return this.options.index.insert(entry);
  }

  /** One sweep at a time; a failure is logged and the next interval tries again. */
  sweep(): Promise<void> {
    this.sweeping ??= this.options.index
      .sweep()
      .catch((error: unknown) => this.options.logger.warn({ err: error }, "semantic cache sweep failed"))
      .finally(() => {
        this.sweeping = undefined;
      });
    return this.sweeping;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
    await this.options.index.close();
  }
}

/** Cosine similarity is a dot product between unit vectors; most models already return them. */
function unit(vector: Float32Array): Float32Array | undefined {
  let norm = 0;
  for (let index = 0; index < vector.length; index++) norm += vector[index]! * vector[index]!;
  if (norm === 0 || !Number.isFinite(norm)) return undefined;
  if (Math.abs(norm - 1) < 1e-5) return vector;
  const scale = 1 / Math.sqrt(norm);
  return vector.map((value) => value * scale);
}
