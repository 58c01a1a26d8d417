import { fromBinary } from "@bufbuild/protobuf";
import type { BusMessage, Logger } from "@strata/kit";
import { gatewayEventsV1, gatewayJobsV1, jobWorkStream } from "@strata/proto";
import { deadLetterHeaders, workKind } from "./dead-letter-mover.js";
import type { DeadLetterStore } from "./dead-letter-store.js";
import { type JobError, newObjectId } from "./job-model.js";
import type { JobNotifier } from "./job-notifier.js";
import type { JobStore } from "./job-store.js";
import type { JobsMetrics } from "./jobs-metrics.js";

/** What a dead work item was about. */
export interface DeadTarget {
  jobId?: string | undefined;
  batchId?: string | undefined;
  /** Known from the item itself (a usage event); a job's tenant comes from the job. */
  tenantId?: string | undefined;
}

export function deadTarget(kind: string, data: Uint8Array): DeadTarget {
  try {
    if (kind === "run") return { jobId: fromBinary(gatewayJobsV1.JobRunSchema, data).jobId };
    if (kind === "webhook") return { jobId: fromBinary(gatewayJobsV1.WebhookDeliverySchema, data).jobId };
    if (kind === "batch") return { batchId: fromBinary(gatewayJobsV1.BatchStartSchema, data).batchId };
    if (kind === "usage") return { tenantId: fromBinary(gatewayEventsV1.UsageEventSchema, data).tenantId };
  } catch {
    // an unreadable payload is still recorded, with no target
  }
  return {};
}

export interface DeadLetterRecorderDeps {
  letters: Pick<DeadLetterStore, "insert">;
  jobs: Pick<JobStore, "get" | "failUnfinished">;
  notifier: Pick<JobNotifier, "finished">;
  /** A batch whose start was given up on fails, naming why. */
  batches: { startDeadLettered(batchId: string, error: JobError): Promise<string | undefined> };
  metrics: JobsMetrics;
  logger: Logger;
}

/**
 * Consumes the dead-letter stream (which keeps its messages after this consumer acks them) and records
 * each one in gateway.dead_letters for admins to list and replay. A job whose run item died while the
 * job was unfinished (its workers kept dying, so no attempt could fail it) is failed here and reported.
 */
export class DeadLetterRecorder {
  constructor(private readonly deps: DeadLetterRecorderDeps) {}

  readonly handle = async (message: BusMessage): Promise<void> => {
    const subject = message.headers[deadLetterHeaders.subject] ?? message.subject;
    const kind = workKind(subject);
    const deliveries = Number(message.headers[deadLetterHeaders.deliveries] ?? 0);
    const target = deadTarget(kind, message.data);
    const error: JobError = {
      code: "dead_lettered",
      message: `The work item was given up on after ${deliveries} deliveries.`,
    };
    const job = target.jobId ? await this.deps.jobs.get(target.jobId) : undefined;
    let tenantId = job?.tenantId ?? target.tenantId;
    if (kind === "run" && job) {
      const failed = await this.deps.jobs.failUnfinished(job.id, error);
      if (failed) await this.deps.notifier.finished(failed);
    }
    if (kind === "batch" && target.batchId)
      tenantId = await this.deps.batches.startDeadLettered(target.batchId, error);
    const recorded = await this.deps.letters.insert({
      id: newObjectId("dl_"),
      deadSeq: message.streamSeq,
      kind,
      subject,
      consumer: message.headers[deadLetterHeaders.consumer] ?? "",
      deliveries,
      sourceStream: message.headers[deadLetterHeaders.stream] ?? jobWorkStream.name,
      sourceSeq: Number(message.headers[deadLetterHeaders.seq] ?? message.streamSeq),
      jobId: target.jobId,
      batchId: target.batchId ?? job?.batchId,
      tenantId,
      error: job?.error ?? error,
    });
    if (recorded) this.deps.metrics.deadLetters.inc({ kind });
  };
}
