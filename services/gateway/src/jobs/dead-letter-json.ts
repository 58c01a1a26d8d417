import type { DeadLetter } from "./dead-letter-store.js";
import { unixSeconds } from "./job-model.js";

export function deadLetterJson(letter: DeadLetter) {
  return {
    id: letter.id,
    object: "dead_letter" as const,
    kind: letter.kind,
    subject: letter.subject,
    consumer: letter.consumer,
    deliveries: letter.deliveries,
    job_id: letter.jobId ?? null,
    batch_id: letter.batchId ?? null,
    tenant_id: letter.tenantId ?? null,
    error: letter.error ?? null,
    created_at: unixSeconds(letter.createdAt),
    replayed_at: unixSeconds(letter.replayedAt),
  };
}
