import { type Database, StrataError } from "@strata/kit";
import type { Page } from "../admin/tenancy-model.js";
import { type RowOf, recordFromRow } from "../jobs/row-record.js";
import type { BatchError, BatchProgress, BatchRecord, BatchStatus } from "./batch-model.js";

type Row = RowOf<BatchRecord>;

export const batchColumns = `id, tenant_id, api_key_id, endpoint, input_file_id, completion_window, status, closing_reason,
  metadata, model, errors, output_file_id, error_file_id, request_total, output_expires_after_seconds, created_at,
  expires_at, in_progress_at, finalizing_at, completed_at, failed_at, expired_at, cancelling_at, cancelled_at`;

export const batchFromRow: (row: Row) => BatchRecord = recordFromRow;

/** The timestamp a status change stamps (a closed set: it is written into the SQL). */
export type StampColumn =
  | "in_progress_at"
  | "finalizing_at"
  | "completed_at"
  | "failed_at"
  | "expired_at"
  | "cancelling_at"
  | "cancelled_at";
type Sql = Pick<Database, "query">;

/**
 * SQL: the batch (alias `b`) reached a final status before $1. It was created before it finished, so
 * the created_at condition lets the scan use the batches_finished index.
 */
const finishedBefore = (b: string) =>
  `${b}.status IN ('failed', 'completed', 'expired', 'cancelled') AND ${b}.created_at < $1
   AND coalesce(${b}.completed_at, ${b}.failed_at, ${b}.expired_at, ${b}.cancelled_at) < $1`;

export type NewBatch = Pick<
  BatchRecord,
  | "id"
  | "tenantId"
  | "apiKeyId"
  | "endpoint"
  | "inputFileId"
  | "completionWindow"
  | "metadata"
  | "outputExpiresAfterSeconds"
> & { windowMs: number };

/** gateway.batches and the progress of their lines (gateway.jobs rows with this batch_id). */
export class BatchStore {
  constructor(private readonly db: Sql) {}

  async insert(batch: NewBatch): Promise<BatchRecord> {
    const result = await this.db.query<Row>(
      `INSERT INTO gateway.batches (id, tenant_id, api_key_id, endpoint, input_file_id, completion_window, status,
         metadata, expires_at, output_expires_after_seconds)
       VALUES ($1, $2, $3, $4, $5, $6, 'validating', $7, now() + $8 * interval '1 millisecond', $9)
       RETURNING ${batchColumns}`,
      [
        batch.id,
        batch.tenantId,
        batch.apiKeyId,
        batch.endpoint,
        batch.inputFileId,
        batch.completionWindow,
        batch.metadata ? JSON.stringify(batch.metadata) : null,
        batch.windowMs,
        batch.outputExpiresAfterSeconds ?? null,
      ],
    );
    return batchFromRow(result.rows[0]!);
  }

  async get(id: string): Promise<BatchRecord | undefined> {
    const result = await this.db.query<Row>(`SELECT ${batchColumns} FROM gateway.batches WHERE id = $1`, [
      id,
    ]);
    return result.rows[0] && batchFromRow(result.rows[0]);
  }

  async getForTenant(tenantId: string, id: string): Promise<BatchRecord> {
    const batch = await this.get(id);
    if (!batch || batch.tenantId !== tenantId)
      throw new StrataError("not_found", `No batch with id '${id}'.`, { param: "batch_id" });
    return batch;
  }

  /** Newest first, the way OpenAI lists batches. */
  async list(tenantId: string, limit: number, after?: string): Promise<Page<BatchRecord>> {
    const params: unknown[] = [tenantId];
    let cursor = "";
    if (after !== undefined) {
      const found = await this.get(after);
      if (!found || found.tenantId !== tenantId)
        throw new StrataError("invalid_request", `No batch with id '${after}' to list after.`, {
          param: "after",
        });
      // Compared in SQL: a JS Date would cut created_at to milliseconds and skip or repeat rows.
      cursor = `AND (created_at, id) < (SELECT created_at, id FROM gateway.batches WHERE id = $${params.push(found.id)})`;
    }
    const result = await this.db.query<Row>(
      `SELECT ${batchColumns} FROM gateway.batches WHERE tenant_id = $1 ${cursor}
       ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit + 1)}`,
      params,
    );
    return { items: result.rows.slice(0, limit).map(batchFromRow), hasMore: result.rows.length > limit };
  }

  /** Succeeded and failed lines and their tokens, per batch. */
  async progress(ids: readonly string[]): Promise<Map<string, BatchProgress>> {
    const result = await this.db.query<{
      batch_id: string;
      completed: string;
      failed: string;
      prompt: string;
      cached: string;
      completion: string;
    }>(
      `SELECT batch_id, count(*) FILTER (WHERE status = 'succeeded') AS completed,
         count(*) FILTER (WHERE status = 'failed') AS failed, coalesce(sum(prompt_tokens), 0) AS prompt,
         coalesce(sum(cached_tokens), 0) AS cached, coalesce(sum(completion_tokens), 0) AS completion
       FROM gateway.jobs WHERE batch_id = ANY($1) GROUP BY batch_id`,
      [ids],
    );
    return new Map(
      result.rows.map((row) => [
        row.batch_id,
        {
          completed: Number(row.completed),
          failed: Number(row.failed),
          inputTokens: Number(row.prompt),
          cachedTokens: Number(row.cached),
          outputTokens: Number(row.completion),
        },
      ]),
    );
  }

  /** Whether any line is still queued or running. */
  async hasUnfinishedLines(batchId: string): Promise<boolean> {
    const result = await this.db.query<{ unfinished: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM gateway.jobs WHERE batch_id = $1 AND status IN ('queued', 'running'))
         AS unfinished`,
      [batchId],
    );
    return result.rows[0]?.unfinished === true;
  }

  /** Moves a batch from one status to another, stamping `<timestamp column> = now()`; false if it was not in `from`. */
  async transition(
    id: string,
    from: readonly BatchStatus[],
    to: BatchStatus,
    stamp: StampColumn,
    extra: { closingReason?: "cancelled" | "expired"; errors?: BatchError[] } = {},
  ): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE gateway.batches SET status = $3, ${stamp} = now(), closing_reason = coalesce($4, closing_reason),
         errors = coalesce($5, errors)
       WHERE id = $1 AND status = ANY($2)`,
      [id, from, to, extra.closingReason ?? null, extra.errors ? JSON.stringify(extra.errors) : null],
    );
    return result.rowCount === 1;
  }

  /** Deletes up to `limit` lines of batches that finished before `before`; returns how many. */
  async deleteFinishedLines(before: Date, limit: number): Promise<number> {
    const result = await this.db.query(
      `DELETE FROM gateway.jobs WHERE id IN (
         SELECT j.id FROM gateway.batches b JOIN gateway.jobs j ON j.batch_id = b.id
         WHERE ${finishedBefore("b")} LIMIT $2 FOR UPDATE OF j SKIP LOCKED)`,
      [before, limit],
    );
    return result.rowCount ?? 0;
  }

  /** Deletes up to `limit` batches that finished before `before` and have no lines left; returns how many. */
  async deleteFinished(before: Date, limit: number): Promise<number> {
    const result = await this.db.query(
      `DELETE FROM gateway.batches WHERE id IN (
         SELECT b.id FROM gateway.batches b
         WHERE ${finishedBefore("b")} AND NOT EXISTS (SELECT 1 FROM gateway.jobs j WHERE j.batch_id = b.id)
         ORDER BY b.created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [before, limit],
    );
    return result.rowCount ?? 0;
  }

  /** Batches not finished yet, oldest first, for the sweeper. */
  async open(limit: number): Promise<BatchRecord[]> {
    const result = await this.db.query<Row>(
      `SELECT ${batchColumns} FROM gateway.batches
       WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling') ORDER BY created_at LIMIT $1`,
      [limit],
    );
    return result.rows.map(batchFromRow);
  }
}
