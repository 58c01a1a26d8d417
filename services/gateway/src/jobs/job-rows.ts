import type { JobError, JobRecord, JobStatus } from "./job-model.js";

/** Columns read for a job (everything but the idempotency hash). */
export const jobColumns = `id, tenant_id, api_key_id, endpoint, model, request, status, attempts, result_status,
  result_body, error, request_id, webhook_url, metadata, batch_id, custom_id, line, notified, lease_owner,
  lease_expires_at, created_at, started_at, completed_at, cancelled_at`;

export interface JobRow {
  id: string;
  tenant_id: string;
  api_key_id: string;
  endpoint: string;
  model: string;
  request: Record<string, unknown>;
  status: JobStatus;
  attempts: number;
  result_status: number | null;
  result_body: unknown;
  error: JobError | null;
  request_id: string | null;
  webhook_url: string | null;
  metadata: Record<string, string> | null;
  batch_id: string | null;
  custom_id: string | null;
  line: number | null;
  notified: boolean;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  cancelled_at: Date | null;
}

export function jobFromRow(row: JobRow): JobRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    apiKeyId: row.api_key_id,
    endpoint: row.endpoint,
    model: row.model,
    request: row.request,
    status: row.status,
    attempts: row.attempts,
    resultStatus: row.result_status ?? undefined,
    resultBody: row.result_body ?? undefined,
    error: row.error ?? undefined,
    requestId: row.request_id ?? undefined,
    webhookUrl: row.webhook_url ?? undefined,
    metadata: row.metadata ?? undefined,
    batchId: row.batch_id ?? undefined,
    customId: row.custom_id ?? undefined,
    line: row.line ?? undefined,
    notified: row.notified,
    leaseOwner: row.lease_owner ?? undefined,
    leaseExpiresAt: row.lease_expires_at ?? undefined,
    createdAt: row.created_at,
    startedAt: row.started_at ?? undefined,
    completedAt: row.completed_at ?? undefined,
    cancelledAt: row.cancelled_at ?? undefined,
  };
}
