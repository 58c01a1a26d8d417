import { create, toBinary } from "@bufbuild/protobuf";
import type { Bus } from "@strata/kit";
import {
  gatewayJobsV1,
  jobAdvisoryStream,
  jobDeadLetterStream,
  jobEventsStream,
  jobWorkStream,
  jobWorkSubjects,
} from "@strata/proto";
import type { JobStore } from "./job-store.js";

const DAY_MS = 86_400_000;
/** Publishes in flight at once when a batch queues its lines. */
const PUBLISH_PARALLELISM = 64;

export interface JobQueueDeps {
  bus: Pick<Bus, "publish" | "ensureStream">;
  store: Pick<JobStore, "markEnqueued">;
  /** How long dead letters stay in their stream (0: forever): as long as their rows are kept. */
  deadLetterMaxAgeMs: number;
}

/**
 * The work queue as producers see it. Message ids make publishing idempotent inside JetStream's
 * duplicate window; beyond it a second message for the same job is harmless, because Postgres says
 * whether the job still has to run.
 */
export class JobQueue {
  constructor(private readonly deps: JobQueueDeps) {}

  /** Creates (or updates) the streams jobs use. */
  async setUp(): Promise<void> {
    const { bus } = this.deps;
    await bus.ensureStream({
      name: jobWorkStream.name,
      subjects: [...jobWorkStream.subjects],
      retention: "workqueue",
    });
    // Advisories are kept until the dead-letter mover has handled them, so none is lost while it is down.
    await bus.ensureStream({
      name: jobAdvisoryStream.name,
      subjects: [...jobAdvisoryStream.subjects],
      retention: "workqueue",
    });
    await bus.ensureStream({
      name: jobDeadLetterStream.name,
      subjects: [...jobDeadLetterStream.subjects],
      maxAgeMs: this.deps.deadLetterMaxAgeMs,
    });
    await bus.ensureStream({
      name: jobEventsStream.name,
      subjects: [...jobEventsStream.subjects],
      maxAgeMs: 7 * DAY_MS,
    });
  }

  /**
   * Stores a run message per job and marks the jobs enqueued. Jobs whose publish failed stay
   * unenqueued for the sweeper; the first failure is rethrown after the others were tried.
   */
  async enqueueJobs(ids: readonly string[], onProgress?: () => void): Promise<void> {
    let failure: unknown;
    for (let start = 0; start < ids.length; start += PUBLISH_PARALLELISM) {
      const chunk = ids.slice(start, start + PUBLISH_PARALLELISM);
      const results = await Promise.allSettled(chunk.map((id) => this.publishRun(id, `run:${id}`)));
      const stored = chunk.filter((_, index) => results[index]!.status === "fulfilled");
      failure ??= results.find((result) => result.status === "rejected")?.reason;
      await this.deps.store.markEnqueued(stored);
      onProgress?.();
    }
    if (failure !== undefined) throw failure;
  }

  publishRun(jobId: string, msgId: string): Promise<void> {
    const data = toBinary(gatewayJobsV1.JobRunSchema, create(gatewayJobsV1.JobRunSchema, { jobId }));
    return this.deps.bus.publish(jobWorkSubjects.run, data, { msgId });
  }

  startBatch(batchId: string): Promise<void> {
    const data = toBinary(
      gatewayJobsV1.BatchStartSchema,
      create(gatewayJobsV1.BatchStartSchema, { batchId }),
    );
    return this.deps.bus.publish(jobWorkSubjects.batch, data, { msgId: `batch:${batchId}` });
  }

  /** `attempts` tells a replayed job's webhook from the first one inside the duplicate window. */
  deliverWebhook(jobId: string, status: string, attempts: number): Promise<void> {
    const message = create(gatewayJobsV1.WebhookDeliverySchema, { jobId, status });
    const data = toBinary(gatewayJobsV1.WebhookDeliverySchema, message);
    return this.deps.bus.publish(jobWorkSubjects.webhook, data, {
      msgId: `webhook:${jobId}:${status}:${attempts}`,
    });
  }
}
