import { unixSeconds } from "../jobs/job-model.js";
import { type BatchProgress, type BatchRecord, noProgress } from "./batch-model.js";

/** OpenAI's Batch object. */
export function batchJson(batch: BatchRecord, progress: BatchProgress = noProgress) {
  return {
    id: batch.id,
    object: "batch" as const,
    endpoint: batch.endpoint,
    model: batch.model ?? null,
    errors: batch.errors ? { object: "list" as const, data: batch.errors } : null,
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: batch.outputFileId ?? null,
    error_file_id: batch.errorFileId ?? null,
    created_at: unixSeconds(batch.createdAt),
    in_progress_at: unixSeconds(batch.inProgressAt),
    expires_at: unixSeconds(batch.expiresAt),
    finalizing_at: unixSeconds(batch.finalizingAt),
    completed_at: unixSeconds(batch.completedAt),
    failed_at: unixSeconds(batch.failedAt),
    expired_at: unixSeconds(batch.expiredAt),
    cancelling_at: unixSeconds(batch.cancellingAt),
    cancelled_at: unixSeconds(batch.cancelledAt),
    request_counts: { total: batch.requestTotal, completed: progress.completed, failed: progress.failed },
    metadata: batch.metadata ?? null,
    usage: {
      input_tokens: progress.inputTokens,
      input_tokens_details: { cached_tokens: progress.cachedTokens },
      output_tokens: progress.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: progress.inputTokens + progress.outputTokens,
    },
  };
}
