import type { Database, Logger } from "@strata/kit";
import { decodeAnswer, encodeAnswer } from "./stored-answer.js";
import type { SemanticEntry, SemanticMatch, VectorIndex } from "./vector-index.js";

export interface PgvectorIndexOptions {
  db: Database;
  maxEntries: number;
  logger: Logger;
}

/**
 * The semantic cache in Postgres with pgvector, shared by every gateway replica: table
 * gateway.semantic_cache (migration 0005). Embedders differ in length, and an HNSW index needs a
 * fixed one, so each length gets its own partial expression index — `(embedding::vector(N))` where
 * `dimensions = N` — and a lookup function, created on first use (under an advisory lock, as every
 * replica may try at once). The function runs its query with `hnsw.iterative_scan` on, so filtering
 * by tenant and bucket after the index scan cannot starve it of candidates. The planner picks HNSW
 * for a large bucket only once the table has statistics (autovacuum's ANALYZE on a real server;
 * PGlite has no autovacuum, one reason the embedded mode uses the in-process index).
 */
export class PgvectorIndex implements VectorIndex {
  readonly kind = "pgvector";
  private readonly prepared = new Map<number, Promise<void>>();

  constructor(private readonly options: PgvectorIndexOptions) {}

  /** Whether migration 0005 could create the table (it needs the pgvector extension). */
  static async available(db: Database): Promise<boolean> {
    const result = await db.query<{ table: string | null }>(
      "SELECT to_regclass('gateway.semantic_cache')::text AS table",
    );
    return result.rows[0]?.table != null;
  }

  async search(
    tenantId: string,
    bucket: string,
    vector: Float32Array,
    threshold: number,
  ): Promise<SemanticMatch | undefined> {
    const dimensions = vector.length;
    await this.prepare(dimensions);
    const result = await this.options.db.query<{ answer: Buffer; similarity: number }>(
      `SELECT answer, similarity FROM gateway.semantic_cache_nearest_${dimensions}($1::vector, $2, $3)`,
      [vectorLiteral(vector), tenantId, bucket],
    );
    const row = result.rows[0];
    if (!row || row.similarity < threshold) return undefined;
    const answer = decodeAnswer(row.answer);
    return answer ? { answer, similarity: row.similarity } : undefined;
  }

  async insert(entry: SemanticEntry): Promise<void> {
    await this.prepare(entry.vector.length);
    await this.options.db.query(
      `INSERT INTO gateway.semantic_cache (tenant_id, bucket, dimensions, embedding, answer, expires_at)
       VALUES ($1, $2, $3, $4::vector, $5, to_timestamp($6::double precision / 1000))`,
      [
        entry.tenantId,
        entry.bucket,
        entry.vector.length,
        vectorLiteral(entry.vector),
        encodeAnswer(entry.answer),
        entry.expiresAt,
      ],
    );
  }

  /** Deletes expired rows, then the oldest beyond maxEntries. */
  async sweep(): Promise<void> {
    const { db, maxEntries } = this.options;
    await db.query("DELETE FROM gateway.semantic_cache WHERE expires_at <= now()");
    await db.query(
      `DELETE FROM gateway.semantic_cache
        WHERE id <= (SELECT id FROM gateway.semantic_cache ORDER BY id DESC OFFSET $1 LIMIT 1)`,
      [maxEntries],
    );
  }

  async close(): Promise<void> {}

  private prepare(dimensions: number): Promise<void> {
    let prepared = this.prepared.get(dimensions);
    if (!prepared) {
      prepared = this.createIndex(dimensions);
      // A failed attempt (e.g. the database was briefly down) is retried by the next request.
      prepared.catch(() => this.prepared.delete(dimensions));
      this.prepared.set(dimensions, prepared);
    }
    return prepared;
  }

  private async createIndex(dimensions: number): Promise<void> {
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 2_000)
      throw new Error(`pgvector's HNSW index takes 1 to 2000 dimensions; the embedder gives ${dimensions}`);
    const typed = `vector(${dimensions})`;
    await this.options.db.transaction(async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('strata.gateway.semantic_cache'))");
      await client.query(
        `CREATE INDEX IF NOT EXISTS semantic_cache_hnsw_${dimensions} ON gateway.semantic_cache
           USING hnsw ((embedding::${typed}) vector_cosine_ops) WHERE dimensions = ${dimensions}`,
      );
      await client.query(
        `CREATE OR REPLACE FUNCTION gateway.semantic_cache_nearest_${dimensions}(query vector, tenant text, bucket_key text)
           RETURNS TABLE (answer bytea, similarity double precision)
           LANGUAGE sql STABLE
           SET hnsw.iterative_scan = 'strict_order'
         AS $fn$
           SELECT c.answer, 1 - ((c.embedding::${typed}) <=> query::${typed})
             FROM gateway.semantic_cache c
            WHERE c.dimensions = ${dimensions} AND c.tenant_id = tenant AND c.bucket = bucket_key
              AND c.expires_at > now()
            ORDER BY (c.embedding::${typed}) <=> query::${typed}
            LIMIT 1
         $fn$`,
      );
    });
    this.options.logger.info({ dimensions }, "semantic cache: pgvector index ready");
  }
}

/** pgvector's text form, `[0.1,0.2,…]`; shortest round-trip decimal per float. */
function vectorLiteral(vector: Float32Array): string {
  return `[${vector.join(",")}]`;
}
