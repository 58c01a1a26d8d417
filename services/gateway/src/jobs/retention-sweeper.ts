import type { Logger } from "@strata/kit";
import type { BatchStore } from "../batch/batch-store.js";
import type { FileStore } from "../files/file-store.js";
import type { DeadLetterStore } from "./dead-letter-store.js";
import type { JobStore } from "./job-store.js";
import type { JobsConfig } from "./jobs-config.js";
import type { JobsMetrics } from "./jobs-metrics.js";

export interface RetentionSweeperDeps {
  jobs: Pick<JobStore, "deleteFinished">;
  batches: Pick<BatchStore, "deleteFinishedLines" | "deleteFinished">;
  files: Pick<FileStore, "deleteExpired">;
  letters: Pick<DeadLetterStore, "deleteCreatedBefore">;
  retention: JobsConfig["retention"];
  metrics: Pick<JobsMetrics, "retentionDeleted">;
  logger: Logger;
  now?: (() => number) | undefined;
}

/** What a sweep deleted, by kind (the metric's label). */
export type RetentionCounts = Record<"jobs" | "batch_lines" | "batches" | "files" | "dead_letters", number>;

type DeleteRound = (limit: number) => Promise<number>;

/**
 * Deletes finished work past its retention: jobs and their results, batches with their lines, expired
 * files, dead-letter rows. Every DELETE takes at most `batchSize` rows and skips rows another replica
 * is deleting, so replicas sweeping at once neither wait on each other nor count a row twice; a sweep
 * goes on until a round comes back short, or the gateway stops.
 */
export class RetentionSweeper {
  constructor(private readonly deps: RetentionSweeperDeps) {}

  async sweep(signal?: AbortSignal): Promise<RetentionCounts> {
    const { retention, jobs, batches } = this.deps;
    const now = (this.deps.now ?? Date.now)();
    const before = (ms: number) => new Date(now - ms);
    const counts: RetentionCounts = { jobs: 0, batch_lines: 0, batches: 0, files: 0, dead_letters: 0 };
    // A retention of 0 keeps that kind forever.
    const drain = async (kind: keyof RetentionCounts, keepMs: number, round: DeleteRound) => {
      if (keepMs > 0) counts[kind] = await this.drain(kind, round, signal);
    };
    await drain("jobs", retention.finishedJobsMs, (limit) =>
      jobs.deleteFinished(before(retention.finishedJobsMs), limit),
    );
    // Lines first: a batch is deleted once none of its lines is left.
    await drain("batch_lines", retention.finishedBatchesMs, (limit) =>
      batches.deleteFinishedLines(before(retention.finishedBatchesMs), limit),
    );
    await drain("batches", retention.finishedBatchesMs, (limit) =>
      batches.deleteFinished(before(retention.finishedBatchesMs), limit),
    );
    // Files carry their own expires_at (from the upload, the batch or the retention when created).
    counts.files = await this.drain(
      "files",
      (limit) => this.deps.files.deleteExpired(new Date(now), limit),
      signal,
    );
    await drain("dead_letters", retention.deadLettersMs, (limit) =>
      this.deps.letters.deleteCreatedBefore(before(retention.deadLettersMs), limit),
    );
    if (Object.values(counts).some((count) => count > 0))
      this.deps.logger.info({ deleted: counts }, "deleted finished work past its retention");
    return counts;
  }

  private async drain(
    kind: keyof RetentionCounts,
    round: DeleteRound,
    signal?: AbortSignal,
  ): Promise<number> {
    const { batchSize } = this.deps.retention;
    let total = 0;
    while (!signal?.aborted) {
      const deleted = await round(batchSize);
      if (deleted > 0) this.deps.metrics.retentionDeleted.inc({ kind }, deleted);
      total += deleted;
      if (deleted < batchSize) break;
    }
    return total;
  }
}
