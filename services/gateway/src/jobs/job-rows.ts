import type { JobRecord } from "./job-model.js";
import { type RowOf, recordFromRow } from "./row-record.js";

/** Columns read for a job (everything but the idempotency hash). */
export const jobColumns = `id, tenant_id, api_key_id, endpoint, model, request, status, attempts, result_status,
  result_body, error, request_id, webhook_url, metadata, batch_id, custom_id, line, notified, lease_owner,
  lease_expires_at, created_at, started_at, completed_at, cancelled_at`;

export type JobRow = RowOf<JobRecord>;

export const jobFromRow: (row: JobRow) => JobRecord = recordFromRow;
