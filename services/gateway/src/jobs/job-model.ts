import { randomBytes } from "node:crypto";
import type { Operation } from "../openai/request-schemas.js";

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export const finalStatuses: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];

export function isFinal(status: JobStatus): boolean {
  return finalStatuses.includes(status);
}

/** Endpoints a job (or a batch line) may target, and the pipeline operation each runs as. */
export const jobEndpoints: Record<string, Operation> = {
  "/v1/chat/completions": "chat.completions",
  "/v1/completions": "completions",
};

/** Why a job failed: a gateway error code and its message (plus the OpenAI error type when known). */
export interface JobError {
  code: string;
  message: string;
  type?: string;
  param?: string | null;
}

/** A job as stored in gateway.jobs. */
export interface JobRecord {
  id: string;
  tenantId: string;
  apiKeyId: string;
  endpoint: string;
  model: string;
  request: Record<string, unknown>;
  status: JobStatus;
  attempts: number;
  resultStatus: number | undefined;
  resultBody: unknown;
  error: JobError | undefined;
  requestId: string | undefined;
  webhookUrl: string | undefined;
  metadata: Record<string, string> | undefined;
  batchId: string | undefined;
  customId: string | undefined;
  line: number | undefined;
  notified: boolean;
  leaseOwner: string | undefined;
  leaseExpiresAt: Date | undefined;
  createdAt: Date;
  startedAt: Date | undefined;
  completedAt: Date | undefined;
  cancelledAt: Date | undefined;
}

/** How an attempt ended, as the store records it. */
export interface JobOutcome {
  status: "succeeded" | "failed";
  resultStatus?: number | undefined;
  resultBody?: unknown;
  error?: JobError | undefined;
  requestId: string;
  usage?: { promptTokens: number; completionTokens: number; cachedTokens: number } | undefined;
}

/** Random ids in OpenAI's style: `job_…`, `batch_…`, `file-…`. */
export function newObjectId(prefix: "job_" | "batch_" | "file-" | "dl_" | "worker_"): string {
  return `${prefix}${randomBytes(12).toString("hex")}`;
}

/** Unix seconds, as OpenAI's objects carry times; null when the moment has not come. */
export function unixSeconds(date: Date | undefined): number | null {
  return date === undefined ? null : Math.floor(date.getTime() / 1000);
}
