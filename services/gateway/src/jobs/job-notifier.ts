import { create, toBinary } from "@bufbuild/protobuf";
import type { Bus } from "@strata/kit";
import { gatewayJobsV1, jobFinishedSubject } from "@strata/proto";
import { isFinal, type JobRecord } from "./job-model.js";
import type { JobQueue } from "./job-queue.js";
import type { JobStore } from "./job-store.js";

export interface JobNotifierDeps {
  bus: Pick<Bus, "publish">;
  queue: Pick<JobQueue, "deliverWebhook">;
  store: Pick<JobStore, "markNotified">;
  /** Batch lines report to their batch instead (which finalizes once every line has finished). */
  batches: { lineFinished(batchId: string): Promise<void> };
}

/**
 * What happens once a job has finished: the JobFinished event and the webhook (queued as its own work
 * item, retried apart from the job). Both are published before the job is marked notified, so a crash
 * in between publishes again (at least once; the message ids de-duplicate close retries).
 */
export class JobNotifier {
  constructor(private readonly deps: JobNotifierDeps) {}

  async finished(job: JobRecord): Promise<void> {
    if (!isFinal(job.status)) return;
    if (job.batchId !== undefined) {
      await this.deps.batches.lineFinished(job.batchId);
      return;
    }
    if (job.notified) return;
    const event = create(gatewayJobsV1.JobFinishedSchema, {
      jobId: job.id,
      tenantId: job.tenantId,
      apiKeyId: job.apiKeyId,
      status: job.status,
      endpoint: job.endpoint,
      model: job.model,
      attempts: job.attempts,
      resultStatusCode: job.resultStatus ?? 0,
      errorCode: job.error?.code ?? "",
      finishedAtMs: BigInt((job.completedAt ?? new Date()).getTime()),
      metadata: job.metadata ?? {},
    });
    await this.deps.bus.publish(
      jobFinishedSubject(job.tenantId),
      toBinary(gatewayJobsV1.JobFinishedSchema, event),
      { msgId: `finished:${job.id}:${job.status}:${job.attempts}` },
    );
    if (job.webhookUrl) await this.deps.queue.deliverWebhook(job.id, job.status, job.attempts);
    await this.deps.store.markNotified(job.id);
  }
}
