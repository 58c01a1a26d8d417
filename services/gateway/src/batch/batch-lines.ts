import type { Database } from "@strata/kit";
import type { BatchLine } from "../files/batch-jsonl.js";
import type { JobError } from "../jobs/job-model.js";
import { newObjectId } from "../jobs/job-model.js";
import { type RowOf, recordFromRow } from "../jobs/row-record.js";
import type { BatchRecord } from "./batch-model.js";
import type { FinishedLine } from "./batch-output.js";

type Sql = Pick<Database, "query">;

const INSERT_CHUNK = 1_000;

/**
 * A batch's lines are jobs (gateway.jobs rows with batch_id, custom_id and line), run by the same
 * workers as any job. They have no event or webhook of their own (`notified` from the start): the
 * batch reports once all its lines have finished.
 */
export async function insertBatchLines(
  sql: Sql,
  batch: BatchRecord,
  lines: readonly BatchLine[],
): Promise<void> {
  for (let start = 0; start < lines.length; start += INSERT_CHUNK) {
    const chunk = lines.slice(start, start + INSERT_CHUNK);
    await sql.query(
      `INSERT INTO gateway.jobs (id, tenant_id, api_key_id, endpoint, model, request, status, batch_id, custom_id,
         line, notified)
       SELECT id, $1, $2, $3, model, request, 'queued', $4, custom_id, line, true
       FROM unnest($5::text[], $6::text[], $7::jsonb[], $8::text[], $9::int[]) AS l(id, model, request, custom_id, line)
       ON CONFLICT (batch_id, line) DO NOTHING`,
      [
        batch.tenantId,
        batch.apiKeyId,
        batch.endpoint,
        batch.id,
        chunk.map(() => newObjectId("job_")),
        chunk.map((line) => String(line.body.model)),
        chunk.map((line) => JSON.stringify(line.body)),
        chunk.map((line) => line.customId),
        chunk.map((line) => line.line),
      ],
    );
  }
}

/** Lines whose run message was never stored, in file order. */
export async function unenqueuedLines(sql: Sql, batchId: string): Promise<string[]> {
  const result = await sql.query<{ id: string }>(
    "SELECT id FROM gateway.jobs WHERE batch_id = $1 AND NOT enqueued AND status = 'queued' ORDER BY line",
    [batchId],
  );
  return result.rows.map((row) => row.id);
}

/** Ends every unfinished line (cancel, expiry); returns the ids that were running, for their workers to abort. */
export async function endUnfinishedLines(
  sql: Sql,
  batchId: string,
  error: JobError,
  includeRunning: boolean,
): Promise<string[]> {
  const result = await sql.query<{ id: string; was_running: boolean }>(
    `WITH ended AS (
       SELECT id, status = 'running' AS was_running FROM gateway.jobs
       WHERE batch_id = $1 AND status = ANY($3) FOR UPDATE)
     UPDATE gateway.jobs AS j SET status = 'cancelled', cancelled_at = now(), completed_at = now(), error = $2,
       lease_owner = NULL, lease_expires_at = NULL
     FROM ended WHERE j.id = ended.id RETURNING j.id, ended.was_running`,
    [batchId, JSON.stringify(error), includeRunning ? ["queued", "running"] : ["queued"]],
  );
  return result.rows.filter((row) => row.was_running).map((row) => row.id);
}

export async function finishedLines(sql: Sql, batchId: string): Promise<FinishedLine[]> {
  const result = await sql.query<RowOf<FinishedLine>>(
    `SELECT id AS job_id, custom_id, status, result_status, result_body, error, request_id FROM gateway.jobs
     WHERE batch_id = $1 ORDER BY line`,
    [batchId],
  );
  return result.rows.map((row) => recordFromRow(row));
}
