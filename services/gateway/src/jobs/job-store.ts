import { type Database, StrataError } from "@strata/kit";
import { idempotencyConflict } from "../admin/idempotency.js";
import type { Page } from "../admin/tenancy-model.js";
import type { JobError, JobOutcome, JobRecord } from "./job-model.js";
import { type JobRow, jobColumns, jobFromRow } from "./job-rows.js";

export type NewJob = Pick<JobRecord, "id" | "tenantId" | "apiKeyId" | "endpoint" | "model" | "request"> &
  Partial<Pick<JobRecord, "webhookUrl" | "metadata">> & {
    idempotencyKey?: string | undefined;
    requestHash?: Buffer | undefined;
  };

/** What a renewal found: still ours, cancelled meanwhile, or taken over (our lease lapsed). */
export type LeaseState = "held" | "cancelled" | "lost";

type Sql = Pick<Database, "query">;

/**
 * gateway.jobs. Every state change is one conditional UPDATE, so concurrent workers, redeliveries and
 * cancellations settle on Postgres's answer: a finished job is never run or finished again.
 */
export class JobStore {
  constructor(private readonly db: Sql) {}

  /** Inserts a job; with an idempotency key already used, returns the earlier job instead. */
  async insert(job: NewJob): Promise<{ job: JobRecord; created: boolean }> {
    const inserted = await this.db.query<JobRow>(
      `INSERT INTO gateway.jobs (id, tenant_id, api_key_id, endpoint, model, request, status, webhook_url,
         metadata, idempotency_key, request_hash)
       VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, $10)
       ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
       RETURNING ${jobColumns}`,
      [
        job.id,
        job.tenantId,
        job.apiKeyId,
        job.endpoint,
        job.model,
        JSON.stringify(job.request),
        job.webhookUrl ?? null,
        job.metadata ? JSON.stringify(job.metadata) : null,
        job.idempotencyKey ?? null,
        job.requestHash ?? null,
      ],
    );
    if (inserted.rows[0]) return { job: jobFromRow(inserted.rows[0]), created: true };
    const earlier = await this.db.query<JobRow & { request_hash: Buffer | null }>(
      `SELECT ${jobColumns}, request_hash FROM gateway.jobs WHERE tenant_id = $1 AND idempotency_key = $2`,
      [job.tenantId, job.idempotencyKey],
    );
    const found = earlier.rows[0];
    if (!found) throw new Error("idempotent job insert found neither a new nor an earlier row");
    const { request_hash: hash, ...row } = found;
    if (!job.requestHash || !hash || !job.requestHash.equals(hash))
      throw idempotencyConflict(job.idempotencyKey!);
    return { job: jobFromRow(row), created: false };
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const result = await this.db.query<JobRow>(`SELECT ${jobColumns} FROM gateway.jobs WHERE id = $1`, [id]);
    return result.rows[0] && jobFromRow(result.rows[0]);
  }

  /** A job submitted through the jobs API by this tenant (batch lines belong to their batch). */
  async getForTenant(tenantId: string, id: string): Promise<JobRecord | undefined> {
    const result = await this.db.query<JobRow>(
      `SELECT ${jobColumns} FROM gateway.jobs WHERE id = $1 AND tenant_id = $2 AND batch_id IS NULL`,
      [id, tenantId],
    );
    return result.rows[0] && jobFromRow(result.rows[0]);
  }

  /** Newest first, continuing after the job `after` the way OpenAI's lists do. */
  async list(tenantId: string, limit: number, after?: string): Promise<Page<JobRecord>> {
    const params: unknown[] = [tenantId];
    let cursor = "";
    if (after !== undefined) {
      const found = await this.getForTenant(tenantId, after);
      if (!found)
        throw new StrataError("invalid_request", `No job with id '${after}' to list after.`, {
          param: "after",
        });
      // Compared in SQL: a JS Date would cut created_at to milliseconds and skip or repeat rows.
      cursor = `AND (created_at, id) < (SELECT created_at, id FROM gateway.jobs WHERE id = $${params.push(found.id)})`;
    }
    const result = await this.db.query<JobRow>(
      `SELECT ${jobColumns} FROM gateway.jobs WHERE tenant_id = $1 AND batch_id IS NULL ${cursor}
       ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit + 1)}`,
      params,
    );
    return { items: result.rows.slice(0, limit).map(jobFromRow), hasMore: result.rows.length > limit };
  }

  async markEnqueued(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query("UPDATE gateway.jobs SET enqueued = true WHERE id = ANY($1)", [ids]);
  }

  /** Queued jobs whose run message was never stored (NATS was away), oldest first. */
  async unenqueued(olderThanMs: number, limit: number): Promise<string[]> {
    const result = await this.db.query<{ id: string }>(
      `SELECT id FROM gateway.jobs WHERE NOT enqueued AND status = 'queued'
         AND created_at < now() - $1 * interval '1 millisecond' ORDER BY created_at LIMIT $2`,
      [olderThanMs, limit],
    );
    return result.rows.map((row) => row.id);
  }

  /**
   * Takes the job for one attempt: a queued job, or a running one whose worker's lease lapsed (that
   * worker is gone). Undefined when it is finished, cancelled or running elsewhere.
   */
  async claim(id: string, owner: string, leaseMs: number): Promise<JobRecord | undefined> {
    const result = await this.db.query<JobRow>(
      `UPDATE gateway.jobs SET status = 'running', attempts = attempts + 1, lease_owner = $2,
         lease_expires_at = now() + $3 * interval '1 millisecond', started_at = coalesce(started_at, now())
       WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND lease_expires_at < now()))
       RETURNING ${jobColumns}`,
      [id, owner, leaseMs],
    );
    return result.rows[0] && jobFromRow(result.rows[0]);
  }

  async renewLease(id: string, owner: string, leaseMs: number): Promise<LeaseState> {
    const result = await this.db.query<{ status: string; renewed: boolean }>(
      `WITH renewed AS (
         UPDATE gateway.jobs SET lease_expires_at = now() + $3 * interval '1 millisecond'
         WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING id)
       SELECT status, EXISTS (SELECT 1 FROM renewed) AS renewed FROM gateway.jobs WHERE id = $1`,
      [id, owner, leaseMs],
    );
    const row = result.rows[0];
    if (row?.renewed) return "held";
    return row?.status === "cancelled" ? "cancelled" : "lost";
  }

  /** Records the final outcome of our attempt; undefined when the job is no longer ours (cancelled). */
  async finish(id: string, owner: string, outcome: JobOutcome): Promise<JobRecord | undefined> {
    const usage = outcome.usage;
    const result = await this.db.query<JobRow>(
      `UPDATE gateway.jobs SET status = $3, result_status = $4, result_body = $5, error = $6, request_id = $7,
         prompt_tokens = $8, completion_tokens = $9, cached_tokens = $10, completed_at = now(),
         lease_owner = NULL, lease_expires_at = NULL
       WHERE id = $1 AND lease_owner = $2 AND status = 'running'
       RETURNING ${jobColumns}`,
      [
        id,
        owner,
        outcome.status,
        outcome.resultStatus ?? null,
        outcome.resultBody === undefined ? null : JSON.stringify(outcome.resultBody),
        outcome.error ? JSON.stringify(outcome.error) : null,
        outcome.requestId,
        usage?.promptTokens ?? 0,
        usage?.completionTokens ?? 0,
        usage?.cachedTokens ?? 0,
      ],
    );
    return result.rows[0] && jobFromRow(result.rows[0]);
  }

  /** Hands the job back for another attempt (a retryable failure, or this worker shutting down). */
  async release(id: string, owner: string, error?: JobError): Promise<void> {
    await this.db.query(
      `UPDATE gateway.jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
         error = coalesce($3, error)
       WHERE id = $1 AND lease_owner = $2 AND status = 'running'`,
      [id, owner, error ? JSON.stringify(error) : null],
    );
  }

  /**
   * Cancels a queued or running job of this tenant; `wasRunning` says whether a worker must abort it
   * (read from the statement's snapshot: a claim racing with the cancel is caught by the lease renewal).
   */
  async cancel(tenantId: string, id: string): Promise<{ job: JobRecord; wasRunning: boolean } | undefined> {
    const result = await this.db.query<JobRow & { was_running: boolean }>(
      `UPDATE gateway.jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now(),
         error = '{"code":"cancelled","message":"The job was cancelled."}', lease_owner = NULL,
         lease_expires_at = NULL
       WHERE id = $1 AND tenant_id = $2 AND batch_id IS NULL AND status IN ('queued', 'running')
       RETURNING ${jobColumns}, (SELECT status FROM gateway.jobs WHERE id = $1) = 'running' AS was_running`,
      [id, tenantId],
    );
    if (!result.rows[0]) return undefined;
    const { was_running: wasRunning, ...row } = result.rows[0];
    return { job: jobFromRow(row), wasRunning };
  }

  async markNotified(id: string): Promise<void> {
    await this.db.query("UPDATE gateway.jobs SET notified = true WHERE id = $1", [id]);
  }

  /** Finished jobs whose event or webhook was never published (a worker died in between). */
  async unnotified(olderThanMs: number, limit: number): Promise<string[]> {
    const result = await this.db.query<{ id: string }>(
      `SELECT id FROM gateway.jobs WHERE NOT notified AND status IN ('succeeded', 'failed', 'cancelled')
         AND completed_at < now() - $1 * interval '1 millisecond' ORDER BY completed_at LIMIT $2`,
      [olderThanMs, limit],
    );
    return result.rows.map((row) => row.id);
  }

  /**
   * Running jobs whose worker's lease lapsed long ago: normally JetStream has redelivered them by then,
   * so these have lost their work item (e.g. a stale ack settled it); they get a new one.
   */
  async stalled(lapsedForMs: number, limit: number): Promise<{ id: string; attempts: number }[]> {
    const result = await this.db.query<{ id: string; attempts: number }>(
      `SELECT id, attempts FROM gateway.jobs WHERE status = 'running'
         AND lease_expires_at < now() - $1 * interval '1 millisecond' ORDER BY lease_expires_at LIMIT $2`,
      [lapsedForMs, limit],
    );
    return result.rows;
  }

  /** Fails a job whose work item was dead-lettered while it was still unfinished (its worker kept dying). */
  async failUnfinished(id: string, error: JobError): Promise<JobRecord | undefined> {
    const result = await this.db.query<JobRow>(
      `UPDATE gateway.jobs SET status = 'failed', error = $2, completed_at = now(), lease_owner = NULL,
         lease_expires_at = NULL
       WHERE id = $1 AND status IN ('queued', 'running') RETURNING ${jobColumns}`,
      [id, JSON.stringify(error)],
    );
    return result.rows[0] && jobFromRow(result.rows[0]);
  }

  /**
   * Deletes up to `limit` jobs of the jobs API (not batch lines: those go with their batch) that
   * finished before `before`; returns how many. Rows another replica is deleting are skipped.
   */
  async deleteFinished(before: Date, limit: number): Promise<number> {
    const result = await this.db.query(
      `DELETE FROM gateway.jobs WHERE id IN (
         SELECT id FROM gateway.jobs WHERE batch_id IS NULL AND status IN ('succeeded', 'failed', 'cancelled')
           AND completed_at < $1 ORDER BY completed_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [before, limit],
    );
    return result.rowCount ?? 0;
  }

  /** Puts a failed job back in the queue for a replay; undefined when it is not failed. */
  async requeueFailed(id: string): Promise<JobRecord | undefined> {
    const result = await this.db.query<JobRow>(
      `UPDATE gateway.jobs SET status = 'queued', error = NULL, result_status = NULL, result_body = NULL,
         completed_at = NULL, notified = (batch_id IS NOT NULL), lease_owner = NULL, lease_expires_at = NULL,
         enqueued = false
       WHERE id = $1 AND status = 'failed' RETURNING ${jobColumns}`,
      [id],
    );
    return result.rows[0] && jobFromRow(result.rows[0]);
  }
}
