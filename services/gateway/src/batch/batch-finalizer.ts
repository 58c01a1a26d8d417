import type { Database, Logger } from "@strata/kit";
import type { FileStore } from "../files/file-store.js";
import { newObjectId } from "../jobs/job-model.js";
import type { JobsMetrics } from "../jobs/jobs-metrics.js";
import { finishedLines } from "./batch-lines.js";
import type { BatchRecord, BatchStatus } from "./batch-model.js";
import { batchOutput } from "./batch-output.js";
import type { BatchStore, StampColumn } from "./batch-store.js";

export interface BatchFinalizerDeps {
  db: Pick<Database, "query" | "transaction">;
  batches: Pick<BatchStore, "get" | "hasUnfinishedLines" | "transition">;
  files: Pick<FileStore, "insert">;
  /** Output and error files expire this long after creation unless the batch said (0: never). */
  outputFilesMs: number;
  metrics: JobsMetrics;
  logger: Logger;
}

interface Ending {
  /** The status the batch is in while it ends. */
  from: BatchStatus;
  to: BatchStatus;
  stamp: StampColumn;
}

/** Which final status a batch in this state heads for, if any. */
function endingOf(batch: BatchRecord): Ending | undefined {
  if (batch.status === "cancelling") return { from: "cancelling", to: "cancelled", stamp: "cancelled_at" };
  if (batch.status === "finalizing") return { from: "finalizing", to: "completed", stamp: "completed_at" };
  if (batch.status !== "in_progress") return undefined;
  if (batch.closingReason === "expired") return { from: "in_progress", to: "expired", stamp: "expired_at" };
  return { from: "finalizing", to: "completed", stamp: "completed_at" };
}

/**
 * Finishes a batch once none of its lines is queued or running: writes the output file (successful
 * requests) and the error file (the rest), and sets the final status with them in one transaction.
 * Safe to call any number of times from any replica: only the transaction that still finds the batch
 * in its ending status commits.
 */
export class BatchFinalizer {
  constructor(private readonly deps: BatchFinalizerDeps) {}

  async settle(batchId: string): Promise<void> {
    const { batches } = this.deps;
    const batch = await batches.get(batchId);
    if (!batch) return;
    const ending = endingOf(batch);
    if (!ending || (await batches.hasUnfinishedLines(batchId))) return;
    // completed goes through finalizing, which clients see while the files are written.
    if (batch.status === "in_progress" && ending.from === "finalizing") {
      if (!(await batches.transition(batchId, ["in_progress"], "finalizing", "finalizing_at"))) return;
    }
    const { output, errors } = batchOutput(await finishedLines(this.deps.db, batchId));
    const committed = await this.deps.db
      .transaction(async (client) => {
        const sql = client as unknown as Pick<Database, "query">;
        const outputFile = output.length > 0 ? await this.store(sql, batch, "output", output) : undefined;
        const errorFile = errors.length > 0 ? await this.store(sql, batch, "error", errors) : undefined;
        const updated = await sql.query(
          `UPDATE gateway.batches SET status = $3, ${ending.stamp} = now(), output_file_id = $4, error_file_id = $5
         WHERE id = $1 AND status = $2`,
          [batchId, ending.from, ending.to, outputFile ?? null, errorFile ?? null],
        );
        // Another replica finished it first: drop our files with the rest of this transaction.
        if (updated.rowCount !== 1) throw new AlreadyFinalized();
        return true;
      })
      .catch((error: unknown) => {
        if (error instanceof AlreadyFinalized) return false;
        throw error;
      });
    if (committed) {
      this.deps.metrics.batches.inc({ status: ending.to });
      this.deps.logger.info(
        { batchId, status: ending.to, output: output.length, errors: errors.length },
        "batch finished",
      );
    }
  }

  private async store(
    sql: Pick<Database, "query">,
    batch: BatchRecord,
    kind: "output" | "error",
    lines: string[],
  ) {
    const file = await this.deps.files.insert(
      {
        id: newObjectId("file-"),
        tenantId: batch.tenantId,
        purpose: "batch_output",
        filename: `${batch.id}_${kind}.jsonl`,
        content: Buffer.from(`${lines.join("\n")}\n`),
        lineCount: lines.length,
        expiresAfterMs:
          batch.outputExpiresAfterSeconds !== undefined
            ? batch.outputExpiresAfterSeconds * 1000
            : this.deps.outputFilesMs || undefined,
      },
      sql,
    );
    return file.id;
  }
}

class AlreadyFinalized extends Error {}
