import { z } from "zod";

const positiveInt = z.coerce.number().int().positive();

/** Tables arrive as JSON in one environment variable, or already parsed from run(). */
function json<T extends z.ZodType>(schema: T) {
  return z.preprocess((value, context) => {
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value);
    } catch (error) {
      context.addIssue({ code: "custom", message: `not valid JSON (${(error as Error).message})` });
      return z.NEVER;
    }
  }, schema);
}

const bool = z.preprocess((value) => {
  if (typeof value !== "string") return value;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  return value;
}, z.boolean());

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
    rateLimits: json(
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
        backoffMs: json(z.array(positiveInt).min(1)).default([1_000, 5_000, 30_000, 120_000, 600_000]),
        concurrency: positiveInt.default(4),
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
  "jobs.sweepIntervalMs": "GATEWAY_JOBS_SWEEP_INTERVAL_MS",
  "jobs.files.maxBytes": "GATEWAY_FILES_MAX_BYTES",
  "jobs.batches.maxRequests": "GATEWAY_BATCH_MAX_REQUESTS",
  "jobs.batches.completionWindowMs": "GATEWAY_BATCH_COMPLETION_WINDOW_MS",
};
