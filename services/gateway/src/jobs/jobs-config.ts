import { jsonSetting } from "@strata/kit";
import { z } from "zod";
import { isWebhookHostEntry } from "./webhook-address-policy.js";

const positiveInt = z.coerce.number().int().positive();

const bool = z.preprocess((value) => {
  if (typeof value !== "string") return value;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  return value;
}, z.boolean());

const DAY_MS = 86_400_000;

/** 0 keeps forever; anything shorter than a minute would delete work before its caller could read it. */
const retentionMs = z.coerce
  .number()
  .int()
  .refine((value) => value === 0 || value >= 60_000, "must be 0 (keep forever) or at least 60000 (a minute)");

/** A list from a comma-separated (or JSON array) environment variable, or already an array. */
function list<T extends z.ZodType>(item: T) {
  const split = (value: unknown) =>
    typeof value === "string" && !value.trim().startsWith("[")
      ? JSON.stringify(
          value
            .split(",")
            .map((entry) => entry.trim())
            .filter(Boolean),
        )
      : value;
  return z.preprocess(split, jsonSetting(z.array(item)));
}

const webhookHostEntry = z
  .string()
  .refine(isWebhookHostEntry, "must be a host name, an IP address or a network such as 10.0.0.0/8");

/** Requests per minute with a burst allowance; the bucket refills continuously. */
export const modelRateSchema = z
  .object({
    requestsPerMinute: positiveInt,
    /** Requests that may start back to back after a quiet spell; 1 spaces every request evenly. */
    burst: positiveInt.default(1),
  })
  .strict();

export type ModelRate = z.output<typeof modelRateSchema>;

/**
 * Async jobs, the Files and Batch APIs, and the workers that run them. The defaults follow JetStream's
 * (30 s ack wait) and OpenAI's (200 MB batch files, 50,000 requests, a 24 h window).
 */
export const jobsConfigSchema = z
  .object({
    workers: z
      .object({
        /** Run workers in this replica; off, it only accepts jobs (another replica runs them). */
        enabled: bool.default(true),
        /** Jobs this replica runs at once. */
        concurrency: positiveInt.default(8),
      })
      .strict()
      .prefault({}),
    /** Deliveries of a work item before it is given up on and dead-lettered (JetStream MaxDeliver). */
    maxDeliveries: positiveInt.default(5),
    /**
     * JetStream's ack wait, and the lease a worker holds on a running job. Workers renew both every
     * third of it, so a worker that dies loses its jobs to another within about this long.
     */
    ackWaitMs: z.coerce.number().int().min(500).default(30_000),
    /** Retry delays after a retryable failure: initial × 2^(attempt−1), capped, with jitter. */
    retry: z
      .object({ initialMs: positiveInt.default(1_000), maxMs: positiveInt.default(60_000) })
      .strict()
      .prefault({}),
    /** Deadline of one attempt. */
    attemptTimeoutMs: positiveInt.default(600_000),
    /**
     * Token buckets per model (as requested), applied before a job runs: a burst of jobs waits its turn
     * in the queue instead of failing. `default` applies to models not listed; none means unlimited.
     */
    rateLimits: jsonSetting(
      z
        .object({
          default: modelRateSchema.optional(),
          models: z.record(z.string(), modelRateSchema).default({}),
        })
        .strict(),
    ).prefault({}),
    webhooks: z
      .object({
        /** Secret from which each tenant's signing secret is derived; the key-hash secret when unset. */
        signingSecret: z.string().min(16, "must be at least 16 characters").optional(),
        timeoutMs: positiveInt.default(10_000),
        maxDeliveries: positiveInt.default(8),
        /** Delays between webhook attempts; the last one repeats. */
        backoffMs: jsonSetting(z.array(positiveInt).min(1)).default([1_000, 5_000, 30_000, 120_000, 600_000]),
        concurrency: positiveInt.default(4),
        /**
         * Let webhooks reach loopback, private (RFC 1918, CGNAT, IPv6 unique-local) addresses. Off, a
         * tenant's webhook URL cannot be used to probe the network the gateway runs in. Link-local
         * (cloud metadata), multicast and reserved addresses stay refused unless listed below.
         */
        allowPrivateNetworks: bool.default(false),
        /**
         * Hosts (exact names) and addresses or networks (`10.1.2.3`, `10.0.0.0/8`, `fd00::/8`) webhooks
         * may reach even though they are not public; a comma-separated list or a JSON array.
         */
        allowedHosts: list(webhookHostEntry).default([]),
      })
      .strict()
      .prefault({}),
    /** How often unfinished work is checked: jobs accepted while NATS was away, batches to finalize. */
    sweepIntervalMs: z.coerce.number().int().min(100).default(5_000),
    files: z
      .object({ maxBytes: positiveInt.default(200 * 1024 * 1024) })
      .strict()
      .prefault({}),
    batches: z
      .object({
        maxRequests: positiveInt.default(50_000),
        /** The "24h" completion window; shorter only in tests. */
        completionWindowMs: positiveInt.default(86_400_000),
      })
      .strict()
      .prefault({}),
    /**
     * How long finished work is kept, each 0 to keep it forever. A finished job keeps its result this
     * long after it finished; a finished batch (with its lines) likewise; files expire this long after
     * they were created unless the upload (`expires_after`) or the batch (`output_expires_after`) says.
     */
    retention: z
      .object({
        finishedJobsMs: retentionMs.default(30 * DAY_MS),
        finishedBatchesMs: retentionMs.default(30 * DAY_MS),
        /** Also the dead-letter stream's max age, so the index and the messages go together. */
        deadLettersMs: retentionMs.default(30 * DAY_MS),
        /** Uploaded batch input files: OpenAI's default for purpose `batch`. */
        inputFilesMs: retentionMs.default(30 * DAY_MS),
        /** Batch output and error files. */
        outputFilesMs: retentionMs.default(30 * DAY_MS),
        /** How often expired rows are deleted (every replica that runs workers does it). */
        sweepIntervalMs: z.coerce.number().int().min(1_000).default(300_000),
        /** Rows one DELETE removes at most, so a large backlog never holds long locks. */
        batchSize: positiveInt.default(1_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type JobsConfig = z.output<typeof jobsConfigSchema>;

export const jobsEnv: Record<string, string> = {
  "jobs.workers.enabled": "GATEWAY_JOBS_WORKERS_ENABLED",
  "jobs.workers.concurrency": "GATEWAY_JOBS_CONCURRENCY",
  "jobs.maxDeliveries": "GATEWAY_JOBS_MAX_DELIVERIES",
  "jobs.ackWaitMs": "GATEWAY_JOBS_ACK_WAIT_MS",
  "jobs.retry.initialMs": "GATEWAY_JOBS_RETRY_INITIAL_MS",
  "jobs.retry.maxMs": "GATEWAY_JOBS_RETRY_MAX_MS",
  "jobs.attemptTimeoutMs": "GATEWAY_JOBS_ATTEMPT_TIMEOUT_MS",
  "jobs.rateLimits": "GATEWAY_JOBS_RATE_LIMITS",
  "jobs.webhooks.signingSecret": "GATEWAY_JOBS_WEBHOOK_SECRET",
  "jobs.webhooks.timeoutMs": "GATEWAY_JOBS_WEBHOOK_TIMEOUT_MS",
  "jobs.webhooks.maxDeliveries": "GATEWAY_JOBS_WEBHOOK_MAX_DELIVERIES",
  "jobs.webhooks.backoffMs": "GATEWAY_JOBS_WEBHOOK_BACKOFF_MS",
  "jobs.webhooks.allowPrivateNetworks": "GATEWAY_JOBS_WEBHOOK_ALLOW_PRIVATE_NETWORKS",
  "jobs.webhooks.allowedHosts": "GATEWAY_JOBS_WEBHOOK_ALLOWED_HOSTS",
  "jobs.sweepIntervalMs": "GATEWAY_JOBS_SWEEP_INTERVAL_MS",
  "jobs.files.maxBytes": "GATEWAY_FILES_MAX_BYTES",
  "jobs.batches.maxRequests": "GATEWAY_BATCH_MAX_REQUESTS",
  "jobs.batches.completionWindowMs": "GATEWAY_BATCH_COMPLETION_WINDOW_MS",
  "jobs.retention.finishedJobsMs": "GATEWAY_JOBS_RETENTION_FINISHED_JOBS_MS",
  "jobs.retention.finishedBatchesMs": "GATEWAY_JOBS_RETENTION_FINISHED_BATCHES_MS",
  "jobs.retention.deadLettersMs": "GATEWAY_JOBS_RETENTION_DEAD_LETTERS_MS",
  "jobs.retention.inputFilesMs": "GATEWAY_JOBS_RETENTION_INPUT_FILES_MS",
  "jobs.retention.outputFilesMs": "GATEWAY_JOBS_RETENTION_OUTPUT_FILES_MS",
  "jobs.retention.sweepIntervalMs": "GATEWAY_JOBS_RETENTION_SWEEP_INTERVAL_MS",
  "jobs.retention.batchSize": "GATEWAY_JOBS_RETENTION_BATCH_SIZE",
};
