import type { StoredAnswer } from "./stored-answer.js";

/** One semantic-cache entry: the embedded last user turn, in its bucket, with the answer to serve. */
export interface SemanticEntry {
  tenantId: string;
  /** Hash of model, operation, everything before the last user turn, parameters and embedder. */
  bucket: string;
  /** Unit vector. */
  vector: Float32Array;
  answer: StoredAnswer;
  /** Unix ms. */
  expiresAt: number;
}

export interface SemanticMatch {
  answer: StoredAnswer;
  similarity: number;
}

/**
 * Nearest-neighbour search over cached entries, only ever within one (tenant, bucket): entries of
 * other tenants, models or contexts are never candidates. Implementations: in-process HNSW
 * (memory-vector-index.ts) and pgvector (pgvector-index.ts).
 */
export interface VectorIndex {
  readonly kind: "memory" | "pgvector";
  /** The nearest live entry with cosine similarity ≥ threshold, if any. */
  search(
    tenantId: string,
    bucket: string,
    vector: Float32Array,
    threshold: number,
  ): Promise<SemanticMatch | undefined>;
  insert(entry: SemanticEntry): Promise<void>;
  /** Deletes expired entries and those beyond the size bounds. */
  sweep(): Promise<void>;
  close(): Promise<void>;
}
