import type { JobRecord } from "./job-model.js";
import { unixSeconds } from "./job-model.js";

/** A job as the HTTP API shows it (OpenAI style: snake_case, Unix seconds, null when unset). */
export function jobJson(job: JobRecord) {
  return {
    id: job.id,
    object: "job" as const,
    endpoint: job.endpoint,
    model: job.model,
    status: job.status,
    attempts: job.attempts,
    created_at: unixSeconds(job.createdAt),
    started_at: unixSeconds(job.startedAt),
    completed_at: unixSeconds(job.completedAt),
    cancelled_at: unixSeconds(job.cancelledAt),
    result:
      job.resultStatus === undefined
        ? null
        : { status_code: job.resultStatus, request_id: job.requestId ?? null, body: job.resultBody ?? null },
    error: job.error ?? null,
    metadata: job.metadata ?? null,
    webhook_url: job.webhookUrl ?? null,
  };
}
