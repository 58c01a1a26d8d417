import { type Database, type Logger, StrataError } from "@strata/kit";
import type { Page } from "../admin/tenancy-model.js";
import type { AuthContext } from "../auth/auth-context.js";
import type { FileStore } from "../files/file-store.js";
import type { JobCancellation } from "../jobs/job-cancellation.js";
import { type JobError, newObjectId } from "../jobs/job-model.js";
import type { JobQueue } from "../jobs/job-queue.js";
import type { BatchFinalizer } from "./batch-finalizer.js";
import { endUnfinishedLines } from "./batch-lines.js";
import type { BatchProgress, BatchRecord } from "./batch-model.js";
import type { BatchStore } from "./batch-store.js";

export interface CreateBatchInput {
  inputFileId: string;
  endpoint: string;
  completionWindow: string;
  metadata: Record<string, string> | undefined;
  outputExpiresAfterSeconds: number | undefined;
}

export interface BatchServiceDeps {
  db: Pick<Database, "query">;
  batches: BatchStore;
  files: Pick<FileStore, "get">;
  queue: Pick<JobQueue, "startBatch">;
  finalizer: Pick<BatchFinalizer, "settle">;
  cancellation: Pick<JobCancellation, "announce">;
  windowMs: number;
  logger: Logger;
}

const cancelledLine: JobError = {
  code: "batch_cancelled",
  message: "The batch was cancelled before this request ran.",
};
const expiredLine: JobError = {
  code: "batch_expired",
  message: "This request could not be executed before the completion window expired.",
};

/** OpenAI's Batch API behind the HTTP face, plus what the workers, dead letters and sweeper need of batches. */
export class BatchService {
  constructor(private readonly deps: BatchServiceDeps) {}

  async create(auth: AuthContext, input: CreateBatchInput): Promise<BatchRecord> {
    const file = await this.deps.files.get(auth.tenantId, input.inputFileId).catch(() => {
      throw new StrataError("invalid_request", `No such File object: ${input.inputFileId}`, {
        param: "input_file_id",
      });
    });
    if (file.purpose !== "batch")
      throw new StrataError(
        "invalid_request",
        `The file '${file.id}' has purpose '${file.purpose}'; a batch's input file needs purpose 'batch'.`,
        { param: "input_file_id" },
      );
    const batch = await this.deps.batches.insert({
      id: newObjectId("batch_"),
      tenantId: auth.tenantId,
      apiKeyId: auth.apiKeyId,
      endpoint: input.endpoint,
      inputFileId: file.id,
      completionWindow: input.completionWindow,
      metadata: input.metadata,
      outputExpiresAfterSeconds: input.outputExpiresAfterSeconds,
      windowMs: this.deps.windowMs,
    });
    await this.deps.queue.startBatch(batch.id).catch((error: unknown) => {
      this.deps.logger.warn(
        { err: error, batchId: batch.id },
        "could not queue the batch yet; the sweeper will",
      );
    });
    return batch;
  }

  get(auth: AuthContext, id: string): Promise<BatchRecord> {
    return this.deps.batches.getForTenant(auth.tenantId, id);
  }

  list(auth: AuthContext, limit: number, after: string | undefined): Promise<Page<BatchRecord>> {
    return this.deps.batches.list(auth.tenantId, limit, after);
  }

  progress(ids: readonly string[]): Promise<Map<string, BatchProgress>> {
    return this.deps.batches.progress(ids);
  }

  /**
   * Stops a batch: queued lines never run, running ones are aborted, and the batch ends `cancelled`
   * with the results it has (cancelling while the last running lines stop).
   */
  async cancel(auth: AuthContext, id: string): Promise<BatchRecord> {
    const batch = await this.get(auth, id);
    if (batch.status === "cancelling" || batch.status === "cancelled") return batch;
    const moved = await this.deps.batches.transition(
      id,
      ["validating", "in_progress"],
      "cancelling",
      "cancelling_at",
      {
        closingReason: "cancelled",
      },
    );
    if (!moved)
      throw new StrataError("failed_precondition", `Cannot cancel a batch with status '${batch.status}'.`, {
        param: "batch_id",
      });
    const running = await endUnfinishedLines(this.deps.db, id, cancelledLine, true);
    for (const jobId of running) this.deps.cancellation.announce(jobId);
    await this.deps.finalizer.settle(id);
    return this.get(auth, id);
  }

  /** A batch line finished: the batch may be done. */
  lineFinished(batchId: string): Promise<void> {
    return this.deps.finalizer.settle(batchId);
  }

  /**
   * Past its completion window: lines not started yet will not run (they go to the error file as
   * `batch_expired`), running ones finish, then the batch ends `expired`.
   */
  async expire(batch: BatchRecord): Promise<void> {
    if (batch.status === "validating") {
      await this.deps.batches.transition(batch.id, ["validating"], "expired", "expired_at");
      return;
    }
    if (batch.status !== "in_progress" || batch.closingReason) return;
    await this.deps.db.query(
      "UPDATE gateway.batches SET closing_reason = 'expired' WHERE id = $1 AND status = 'in_progress' AND closing_reason IS NULL",
      [batch.id],
    );
    await endUnfinishedLines(this.deps.db, batch.id, expiredLine, false);
    await this.deps.finalizer.settle(batch.id);
  }

  /** Its BatchStart was dead-lettered: the batch fails (an admin may replay it). Returns its tenant. */
  async startDeadLettered(batchId: string, error: JobError): Promise<string | undefined> {
    const batch = await this.deps.batches.get(batchId);
    if (!batch) return undefined;
    await this.deps.batches.transition(batchId, ["validating"], "failed", "failed_at", {
      errors: [{ code: error.code, message: error.message, param: null, line: null }],
    });
    return batch.tenantId;
  }

  async reopenDeadStart(batchId: string): Promise<void> {
    const reopened = await this.deps.db.query(
      `UPDATE gateway.batches SET status = 'validating', failed_at = NULL, errors = NULL
       WHERE id = $1 AND status = 'failed' AND errors @> '[{"code": "dead_lettered"}]'`,
      [batchId],
    );
    if (reopened.rowCount !== 1)
      throw new StrataError("failed_precondition", `The batch '${batchId}' did not fail from a dead letter.`);
  }

  async assertOpen(batchId: string): Promise<void> {
    const batch = await this.deps.batches.get(batchId);
    if (batch && batch.status !== "in_progress")
      throw new StrataError(
        "failed_precondition",
        `The batch '${batchId}' is ${batch.status}; its lines can no longer be replayed.`,
      );
  }
}
