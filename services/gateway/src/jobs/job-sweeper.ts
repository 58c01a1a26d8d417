import type { Logger } from "@strata/kit";
import type { BatchFinalizer } from "../batch/batch-finalizer.js";
import type { BatchService } from "../batch/batch-service.js";
import type { BatchStore } from "../batch/batch-store.js";
import type { JobNotifier } from "./job-notifier.js";
import type { JobQueue } from "./job-queue.js";
import type { JobStore } from "./job-store.js";
import { PeriodicTask } from "./periodic-task.js";

export interface JobSweeperDeps {
  jobs: Pick<JobStore, "unenqueued" | "unnotified" | "stalled" | "get">;
  queue: Pick<JobQueue, "enqueueJobs" | "publishRun" | "startBatch">;
  notifier: Pick<JobNotifier, "finished">;
  batches: Pick<BatchStore, "open">;
  batchService: Pick<BatchService, "expire">;
  finalizer: Pick<BatchFinalizer, "settle">;
  intervalMs: number;
  ackWaitMs: number;
  logger: Logger;
}

const PER_SWEEP = 500;

/**
 * The safety net under the work queue, run by every replica (each step is idempotent): queues jobs
 * accepted while NATS was away, reports finished jobs whose report was lost with their worker, gives
 * lost running jobs a new work item, and moves batches along (restart, finalize, expire).
 */
export class JobSweeper {
  private readonly task: PeriodicTask;

  constructor(private readonly deps: JobSweeperDeps) {
    this.task = new PeriodicTask({
      name: "job sweep",
      intervalMs: deps.intervalMs,
      pass: () => this.pass(),
      logger: deps.logger,
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One pass; overlapping calls share the pass in progress. */
  sweep(): Promise<void> {
    return this.task.run();
  }

  private async pass(): Promise<void> {
    const { jobs, queue, ackWaitMs } = this.deps;
    const unqueued = await jobs.unenqueued(Math.max(this.deps.intervalMs, 1_000), PER_SWEEP);
    if (unqueued.length > 0) await queue.enqueueJobs(unqueued);
    for (const id of await jobs.unnotified(ackWaitMs, PER_SWEEP)) {
      const job = await jobs.get(id);
      if (job) await this.deps.notifier.finished(job);
    }
    for (const stalled of await jobs.stalled(3 * ackWaitMs, PER_SWEEP))
      await queue.publishRun(stalled.id, `rescue:${stalled.id}:${stalled.attempts}`);
    await this.batches();
  }

  private async batches(): Promise<void> {
    const now = Date.now();
    for (const batch of await this.deps.batches.open(PER_SWEEP)) {
      if (
        batch.expiresAt.getTime() <= now &&
        (batch.status === "validating" || batch.status === "in_progress")
      ) {
        await this.deps.batchService.expire(batch);
      } else if (batch.status === "validating") {
        if (now - batch.createdAt.getTime() > 2 * this.deps.ackWaitMs)
          await this.deps.queue.startBatch(batch.id);
      } else {
        await this.deps.finalizer.settle(batch.id);
      }
    }
  }
}
