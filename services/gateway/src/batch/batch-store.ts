import { type Database, StrataError } from "@strata/kit";
import type { Page } from "../jobs/job-store.js";
import type { BatchError, BatchProgress, BatchRecord, BatchStatus } from "./batch-model.js";

interface Row {
  id: string;
  tenant_id: string;
  api_key_id: string;
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  closing_reason: "cancelled" | "expired" | null;
  metadata: Record<string, string> | null;
  model: string | null;
  errors: BatchError[] | null;
  output_file_id: string | null;
  error_file_id: string | null;
  request_total: number;
  created_at: Date;
  expires_at: Date;
  in_progress_at: Date | null;
  finalizing_at: Date | null;
  completed_at: Date | null;
  failed_at: Date | null;
  expired_at: Date | null;
  cancelling_at: Date | null;
  cancelled_at: Date | null;
}

export const batchColumns = `id, tenant_id, api_key_id, endpoint, input_file_id, completion_window, status, closing_reason,
  metadata, model, errors, output_file_id, error_file_id, request_total, created_at, expires_at, in_progress_at,
  finalizing_at, completed_at, failed_at, expired_at, cancelling_at, cancelled_at`;

export function batchFromRow(row: Row): BatchRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    apiKeyId: row.api_key_id,
    endpoint: row.endpoint,
    inputFileId: row.input_file_id,
    completionWindow: row.completion_window,
    status: row.status,
    closingReason: row.closing_reason ?? undefined,
    metadata: row.metadata ?? undefined,
    model: row.model ?? undefined,
    errors: row.errors ?? undefined,
    outputFileId: row.output_file_id ?? undefined,
    errorFileId: row.error_file_id ?? undefined,
    requestTotal: row.request_total,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    inProgressAt: row.in_progress_at ?? undefined,
    finalizingAt: row.finalizing_at ?? undefined,
    completedAt: row.completed_at ?? undefined,
    failedAt: row.failed_at ?? undefined,
    expiredAt: row.expired_at ?? undefined,
    cancellingAt: row.cancelling_at ?? undefined,
    cancelledAt: row.cancelled_at ?? undefined,
  };
}

export type BatchRow = Row;

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

export interface NewBatch {
  id: string;
  tenantId: string;
  apiKeyId: string;
  endpoint: string;
  inputFileId: string;
  completionWindow: string;
  metadata: Record<string, string> | undefined;
  windowMs: number;
}

/** gateway.batches and the progress of their lines (gateway.jobs rows with this batch_id). */
export class BatchStore {
  constructor(private readonly db: Sql) {}

  async insert(batch: NewBatch): Promise<BatchRecord> {
    const result = await this.db.query<Row>(
      `INSERT INTO gateway.batches (id, tenant_id, api_key_id, endpoint, input_file_id, completion_window, status,
         metadata, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'validating', $7, now() + $8 * interval '1 millisecond')
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
      cursor = `AND (created_at, id) < ($${params.push(found.createdAt)}, $${params.push(found.id)})`;
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

  /** Lines still queued or running. */
  async unfinishedLines(batchId: string): Promise<number> {
    const result = await this.db.query<{ count: string }>(
      "SELECT count(*) AS count FROM gateway.jobs WHERE batch_id = $1 AND status IN ('queued', 'running')",
      [batchId],
    );
    return Number(result.rows[0]?.count ?? 0);
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
