import type { Migration } from "@strata/kit";

/** Async jobs, uploaded files, batches and the dead-letter index. */
export const jobsMigration: Migration = {
  id: "0006_jobs_files_batches",
  sql: `
    -- Uploaded files (purpose batch) and batch output files; small enough to keep in Postgres (the
    -- upload limit is configured), which keeps the embedded mode and real infrastructure alike.
    CREATE TABLE gateway.files (
      id text PRIMARY KEY,
      tenant_id text NOT NULL,
      purpose text NOT NULL,
      filename text NOT NULL,
      bytes bigint NOT NULL,
      content bytea NOT NULL,
      -- Requests in a batch input file; 0 for other files.
      line_count integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz
    );
    CREATE INDEX files_tenant_created ON gateway.files (tenant_id, created_at, id);

    CREATE TABLE gateway.batches (
      id text PRIMARY KEY,
      tenant_id text NOT NULL,
      api_key_id text NOT NULL,
      endpoint text NOT NULL,
      input_file_id text NOT NULL,
      completion_window text NOT NULL,
      status text NOT NULL CHECK (status IN ('validating', 'failed', 'in_progress', 'finalizing',
        'completed', 'expired', 'cancelling', 'cancelled')),
      -- Why the batch stops early: 'cancelled' or 'expired'; NULL while it runs to completion.
      closing_reason text CHECK (closing_reason IN ('cancelled', 'expired')),
      metadata jsonb,
      model text,
      -- OpenAI's errors.data (validation failures naming the line).
      errors jsonb,
      output_file_id text,
      error_file_id text,
      request_total integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      in_progress_at timestamptz,
      finalizing_at timestamptz,
      completed_at timestamptz,
      failed_at timestamptz,
      expired_at timestamptz,
      cancelling_at timestamptz,
      cancelled_at timestamptz
    );
    CREATE INDEX batches_tenant_created ON gateway.batches (tenant_id, created_at, id);
    -- The sweeper visits only batches that are not finished.
    CREATE INDEX batches_open ON gateway.batches (created_at)
      WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');

    CREATE TABLE gateway.jobs (
      id text PRIMARY KEY,
      tenant_id text NOT NULL,
      -- The submitting key: the job runs with its permissions and limits, and stops if it is revoked.
      api_key_id text NOT NULL,
      endpoint text NOT NULL,
      model text NOT NULL,
      request jsonb NOT NULL,
      status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
      attempts integer NOT NULL DEFAULT 0,
      result_status integer,
      result_body jsonb,
      error jsonb,
      -- The gateway request id of the attempt that produced the result.
      request_id text,
      prompt_tokens integer NOT NULL DEFAULT 0,
      completion_tokens integer NOT NULL DEFAULT 0,
      cached_tokens integer NOT NULL DEFAULT 0,
      webhook_url text,
      metadata jsonb,
      idempotency_key text,
      request_hash bytea,
      batch_id text REFERENCES gateway.batches(id),
      custom_id text,
      line integer,
      -- Outbox: true once the run message is stored in the work queue; the sweeper publishes the rest,
      -- so a job accepted while NATS was away still runs.
      enqueued boolean NOT NULL DEFAULT false,
      -- The worker running the job and until when; another delivery waits until the lease lapses, so
      -- a job runs on one worker at a time and a dead worker's job is taken over.
      lease_owner text,
      lease_expires_at timestamptz,
      -- The finished event and the webhook were published (batch lines have none: always true).
      notified boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      completed_at timestamptz,
      cancelled_at timestamptz,
      UNIQUE (tenant_id, idempotency_key),
      UNIQUE (batch_id, line)
    );
    CREATE INDEX jobs_tenant_created ON gateway.jobs (tenant_id, created_at, id) WHERE batch_id IS NULL;
    CREATE INDEX jobs_batch_status ON gateway.jobs (batch_id, status) WHERE batch_id IS NOT NULL;
    CREATE INDEX jobs_unenqueued ON gateway.jobs (created_at) WHERE NOT enqueued;
    CREATE INDEX jobs_unnotified ON gateway.jobs (completed_at) WHERE NOT notified;

    -- Index of the dead-letter stream, for admins to list and replay.
    CREATE TABLE gateway.dead_letters (
      id text PRIMARY KEY,
      -- Where the message sits in the dead-letter stream.
      dead_seq bigint NOT NULL UNIQUE,
      kind text NOT NULL,
      subject text NOT NULL,
      consumer text NOT NULL,
      deliveries integer NOT NULL,
      -- Where it came from: a work-queue message is moved once, whatever the advisory redeliveries.
      source_stream text NOT NULL,
      source_seq bigint NOT NULL,
      job_id text,
      batch_id text,
      tenant_id text,
      error jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      replayed_at timestamptz,
      UNIQUE (source_stream, source_seq)
    );
    CREATE INDEX dead_letters_created ON gateway.dead_letters (created_at, id);
  `,
};

/** Retention (the sweeper's indexes, batches' output_expires_after) and rotated webhook signing secrets. */
export const jobsRetentionMigration: Migration = {
  id: "0008_jobs_retention_and_webhook_secrets",
  sql: `
    -- How long after creation a batch's output and error files expire (OpenAI's output_expires_after).
    ALTER TABLE gateway.batches ADD COLUMN output_expires_after_seconds integer;
    -- What the retention sweeper scans: finished jobs of the jobs API, finished batches, expiring files.
    CREATE INDEX jobs_finished ON gateway.jobs (completed_at)
      WHERE batch_id IS NULL AND status IN ('succeeded', 'failed', 'cancelled');
    CREATE INDEX batches_finished ON gateway.batches (created_at)
      WHERE status IN ('failed', 'completed', 'expired', 'cancelled');
    CREATE INDEX files_expires ON gateway.files (expires_at) WHERE expires_at IS NOT NULL;

    -- A tenant's webhook signing secret once an admin rotated it (before that it is derived from the
    -- gateway's secret and not stored). The replaced secret signs too until previous_expires_at.
    CREATE TABLE gateway.webhook_secrets (
      tenant_id text PRIMARY KEY,
      secret text NOT NULL,
      rotated_at timestamptz NOT NULL,
      previous_secret text,
      previous_expires_at timestamptz
    );
  `,
};
