/** OpenAI's batch statuses: validating → in_progress → finalizing → completed, or failed, expired, cancelling → cancelled. */
export type BatchStatus =
  | "validating"
  | "failed"
  | "in_progress"
  | "finalizing"
  | "completed"
  | "expired"
  | "cancelling"
  | "cancelled";

/** One entry of a batch's `errors.data`: why validation failed, naming the line when there is one. */
export interface BatchError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export interface BatchRecord {
  id: string;
  tenantId: string;
  apiKeyId: string;
  endpoint: string;
  inputFileId: string;
  completionWindow: string;
  status: BatchStatus;
  closingReason: "cancelled" | "expired" | undefined;
  metadata: Record<string, string> | undefined;
  model: string | undefined;
  errors: BatchError[] | undefined;
  outputFileId: string | undefined;
  errorFileId: string | undefined;
  requestTotal: number;
  /** How long after creation the output and error files expire (`output_expires_after`), if given. */
  outputExpiresAfterSeconds: number | undefined;
  createdAt: Date;
  expiresAt: Date;
  inProgressAt: Date | undefined;
  finalizingAt: Date | undefined;
  completedAt: Date | undefined;
  failedAt: Date | undefined;
  expiredAt: Date | undefined;
  cancellingAt: Date | undefined;
  cancelledAt: Date | undefined;
}

/** Progress of a batch's lines, from its jobs. */
export interface BatchProgress {
  completed: number;
  failed: number;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
}

export const noProgress: BatchProgress = {
  completed: 0,
  failed: 0,
  inputTokens: 0,
  cachedTokens: 0,
  outputTokens: 0,
};
