import { Counter, Gauge, Histogram, latencyBuckets, type Registry } from "@strata/kit";

export type JobsMetrics = ReturnType<typeof createJobsMetrics>;

export function createJobsMetrics(registry: Registry) {
  return {
    submitted: new Counter({
      name: "strata_gateway_jobs_submitted_total",
      help: "Jobs accepted through the jobs API, by endpoint (batch lines are counted as batches).",
      labelNames: ["endpoint"],
      registers: [registry],
    }),
    finished: new Counter({
      name: "strata_gateway_jobs_finished_total",
      help: "Jobs and batch lines that reached a final status, by status.",
      labelNames: ["status"],
      registers: [registry],
    }),
    attempts: new Counter({
      name: "strata_gateway_job_attempts_total",
      help: "Job attempts run by this replica, by outcome (succeeded, failed, retry, aborted).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    attemptDuration: new Histogram({
      name: "strata_gateway_job_attempt_duration_seconds",
      help: "Time one job attempt spent in the completion pipeline.",
      buckets: latencyBuckets,
      registers: [registry],
    }),
    rateLimitWait: new Histogram({
      name: "strata_gateway_job_rate_limit_wait_seconds",
      help: "Time jobs waited for their model's rate limit before running.",
      buckets: latencyBuckets,
      registers: [registry],
    }),
    running: new Gauge({
      name: "strata_gateway_jobs_running",
      help: "Job attempts running in this replica now.",
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: "strata_gateway_job_dead_letters_total",
      help: "Work items moved to the dead-letter stream after their last delivery, by kind.",
      labelNames: ["kind"],
      registers: [registry],
    }),
    webhooks: new Counter({
      name: "strata_gateway_job_webhooks_total",
      help: "Webhook deliveries attempted, by outcome (delivered, failed, refused: a non-public address).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    webhookRefusals: new Counter({
      name: "strata_gateway_job_webhook_refusals_total",
      help: "Webhook deliveries refused because the host is or resolves to a non-public address, by kind of address.",
      labelNames: ["kind"],
      registers: [registry],
    }),
    retentionDeleted: new Counter({
      name: "strata_gateway_retention_deleted_total",
      help: "Rows deleted past their retention, by kind (jobs, batch_lines, batches, files, dead_letters).",
      labelNames: ["kind"],
      registers: [registry],
    }),
    files: new Counter({
      name: "strata_gateway_files_uploaded_total",
      help: "Files uploaded through the Files API.",
      registers: [registry],
    }),
    batches: new Counter({
      name: "strata_gateway_batches_total",
      help: "Batches that reached a final status, by status.",
      labelNames: ["status"],
      registers: [registry],
    }),
  };
}
