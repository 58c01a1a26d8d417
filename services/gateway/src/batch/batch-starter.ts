import { fromBinary } from "@bufbuild/protobuf";
import { type BusMessage, type Database, type Logger, StrataError } from "@strata/kit";
import { gatewayJobsV1 } from "@strata/proto";
import { type BatchLine, parseBatchJsonl } from "../files/batch-jsonl.js";
import type { FileStore } from "../files/file-store.js";
import { Heartbeat } from "../jobs/heartbeat.js";
import type { JobQueue } from "../jobs/job-queue.js";
import { insertBatchLines, unenqueuedLines } from "./batch-lines.js";
import type { BatchError, BatchRecord } from "./batch-model.js";
import type { BatchStore } from "./batch-store.js";

export interface BatchStarterDeps {
  db: Pick<Database, "query" | "transaction">;
  batches: Pick<BatchStore, "get" | "transition">;
  files: Pick<FileStore, "content">;
  queue: Pick<JobQueue, "enqueueJobs">;
  maxRequests: number;
  ackWaitMs: number;
  logger: Logger;
}

/**
 * Handles BatchStart work items: validates the input file against the batch (status `validating`),
 * turns its lines into queued jobs and moves the batch to `in_progress` in one transaction, then
 * queues the lines. A redelivery after a crash only queues what was not queued yet.
 */
export class BatchStarter {
  constructor(private readonly deps: BatchStarterDeps) {}

  readonly handle = async (message: BusMessage): Promise<void> => {
    let batchId: string;
    try {
      batchId = fromBinary(gatewayJobsV1.BatchStartSchema, message.data).batchId;
    } catch {
      message.term();
      return;
    }
    const batch = await this.deps.batches.get(batchId);
    if (!batch) {
      message.term();
      return;
    }
    const heartbeat = new Heartbeat(message, this.deps.ackWaitMs / 3, this.deps.logger);
    try {
      if (batch.status === "validating") await this.expand(batch);
      const current = await this.deps.batches.get(batchId);
      if (current?.status === "in_progress")
        await this.deps.queue.enqueueJobs(await unenqueuedLines(this.deps.db, batchId), () =>
          message.working(),
        );
    } finally {
      heartbeat.stop();
    }
  };

  private async expand(batch: BatchRecord): Promise<void> {
    const lines = await this.validLines(batch);
    if (!lines) return;
    await this.deps.db.transaction(async (client) => {
      const sql = client as unknown as Pick<Database, "query">;
      // Cancelled or expired meanwhile: leave it to the finalizer.
      const started = await sql.query(
        `UPDATE gateway.batches SET status = 'in_progress', in_progress_at = now(), request_total = $2, model = $3
         WHERE id = $1 AND status = 'validating'`,
        [batch.id, lines.length, String(lines[0]!.body.model)],
      );
      if (started.rowCount === 1) await insertBatchLines(sql, batch, lines);
    });
  }

  /** The input file's lines, or undefined after failing the batch with errors that name the line. */
  private async validLines(batch: BatchRecord): Promise<BatchLine[] | undefined> {
    let lines: BatchLine[];
    try {
      const { content } = await this.deps.files.content(batch.tenantId, batch.inputFileId);
      lines = parseBatchJsonl(content, this.deps.maxRequests);
    } catch (error) {
      if (!(error instanceof StrataError)) throw error;
      const code = error.code === "not_found" ? "file_not_found" : "invalid_file";
      await this.fail(batch, [
        { code, message: error.message, param: "input_file_id", line: lineOf(error.message) },
      ]);
      return undefined;
    }
    const wrong = lines.filter((line) => line.url !== batch.endpoint);
    if (wrong.length > 0) {
      await this.fail(
        batch,
        wrong.slice(0, 100).map((line) => ({
          code: "invalid_url",
          message: `Line ${line.line}: the url '${line.url}' does not match the batch's endpoint '${batch.endpoint}'.`,
          param: "url",
          line: line.line,
        })),
      );
      return undefined;
    }
    return lines;
  }

  private async fail(batch: BatchRecord, errors: BatchError[]): Promise<void> {
    await this.deps.batches.transition(batch.id, ["validating"], "failed", "failed_at", { errors });
    this.deps.logger.info({ batchId: batch.id, errors: errors.length }, "batch failed validation");
  }
}

function lineOf(message: string): number | null {
  const match = /^Line (\d+):/.exec(message);
  return match ? Number(match[1]) : null;
}
