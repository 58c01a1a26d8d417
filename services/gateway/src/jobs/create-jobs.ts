import type { Bus, ConsumerSpec, Database, Logger, Registry, ServiceImpl, Subscription } from "@strata/kit";
import {
  type gatewayJobsV1,
  jobAdvisoryStream,
  jobDeadLetterStream,
  jobWorkStream,
  jobWorkSubjects,
} from "@strata/proto";
import type { AdminRouter } from "../admin/admin-router.js";
import type { AuthContext } from "../auth/auth-context.js";
import { BatchFinalizer } from "../batch/batch-finalizer.js";
import { registerBatchRoutes } from "../batch/batch-routes.js";
import { BatchService } from "../batch/batch-service.js";
import { BatchStarter } from "../batch/batch-starter.js";
import { BatchStore } from "../batch/batch-store.js";
import { FileStore } from "../files/file-store.js";
import { registerFileRoutes } from "../files/files-routes.js";
import type { CompletionPipeline } from "../pipeline/completion-pipeline.js";
import { AsyncHttpApi } from "./async-http-api.js";
import { DeadLetterMover } from "./dead-letter-mover.js";
import { DeadLetterRecorder } from "./dead-letter-recorder.js";
import { DeadLetterReplay } from "./dead-letter-replay.js";
import { registerDeadLetterRoutes } from "./dead-letter-routes.js";
import { DeadLetterStore } from "./dead-letter-store.js";
import { JobCancellation } from "./job-cancellation.js";
import { newObjectId } from "./job-model.js";
import { JobNotifier } from "./job-notifier.js";
import { JobQueue } from "./job-queue.js";
import { JobRunner } from "./job-runner.js";
import { JobService } from "./job-service.js";
import { JobStore } from "./job-store.js";
import { JobSweeper } from "./job-sweeper.js";
import { JobWorker } from "./job-worker.js";
import type { JobsConfig } from "./jobs-config.js";
import { jobsGrpcService } from "./jobs-grpc-service.js";
import { createJobsMetrics, type JobsMetrics } from "./jobs-metrics.js";
import { registerJobRoutes } from "./jobs-routes.js";
import { ModelRateLimiter } from "./model-rate-limiter.js";
import { PeriodicTask } from "./periodic-task.js";
import { type RetentionCounts, RetentionSweeper } from "./retention-sweeper.js";
import { WebhookAddressPolicy } from "./webhook-address-policy.js";
import { webhookAgent } from "./webhook-agent.js";
import { WebhookSecretAdmin } from "./webhook-secret-admin.js";
import { registerWebhookSecretRoutes } from "./webhook-secret-routes.js";
import { WebhookSecrets } from "./webhook-secrets.js";
import { WebhookSender } from "./webhook-sender.js";

export interface JobsDeps {
  config: JobsConfig;
  /** Webhook signing secrets are derived from this when no dedicated secret is configured. */
  keyHashSecret: string;
  db: Database;
  bus: Bus;
  /** Jobs run through the same pipeline as synchronous requests. */
  pipeline: Pick<CompletionPipeline, "execute">;
  keys: { authenticate(authorization: string | undefined): Promise<AuthContext> };
  maxBodyBytes: number;
  registry: Registry;
  logger: Logger;
  /** The clock retention and expiry are judged by (tests move it on). */
  now?: (() => number) | undefined;
}

export interface Jobs {
  /** `/v1/jobs`, `/v1/files`, `/v1/batches`. */
  http: AsyncHttpApi;
  grpcService: ServiceImpl<typeof gatewayJobsV1.JobsService>;
  /** `/admin/v1/dead-letters`, `/admin/v1/tenants/{id}/webhook-secret`. */
  registerAdminRoutes(admin: AdminRouter): void;
  /** Tenants' webhook signing secrets, for the gRPC AdminService to show and rotate as the HTTP routes do. */
  webhookSecrets: WebhookSecretAdmin;
  /** Runs the sweeper once (it also runs on its own interval where workers run). */
  sweep(): Promise<void>;
  /** Deletes what is past its retention once (this too runs on its own interval where workers run). */
  sweepRetention(): Promise<RetentionCounts>;
  /** Stops taking work; running attempts are handed back to the queue for another replica. */
  close(): Promise<void>;
}

/** Async jobs, the Files and Batch APIs, and (where enabled) the workers that run them. */
export async function createJobs(deps: JobsDeps): Promise<Jobs> {
  const { config, db, bus, logger } = deps;
  const metrics = createJobsMetrics(deps.registry);
  const jobStore = new JobStore(db);
  const files = new FileStore(db, deps.now);
  const batchStore = new BatchStore(db);
  const queue = new JobQueue({ bus, store: jobStore, deadLetterMaxAgeMs: config.retention.deadLettersMs });
  await queue.setUp();
  const cancellation = new JobCancellation({ bus, logger });
  cancellation.start();
  const finalizer = new BatchFinalizer({
    db,
    batches: batchStore,
    files,
    outputFilesMs: config.retention.outputFilesMs,
    metrics,
    logger,
  });
  const batches = new BatchService({
    db,
    batches: batchStore,
    files,
    queue,
    finalizer,
    cancellation,
    windowMs: config.batches.completionWindowMs,
    logger,
  });
  const notifier = new JobNotifier({ bus, queue, store: jobStore, batches });
  const parts: Parts = {
    jobStore,
    batchStore,
    files,
    letters: new DeadLetterStore(db),
    queue,
    cancellation,
    notifier,
    batches,
    finalizer,
    metrics,
    webhooks: createWebhooks(deps),
  };
  const jobService = new JobService({
    store: jobStore,
    queue,
    notifier,
    cancellation,
    webhookPolicy: parts.webhooks.policy,
    metrics,
    logger,
  });
  const sweepers = createSweepers(deps, parts);
  const subscriptions = config.workers.enabled ? await startWorkers(deps, parts) : [];
  if (config.workers.enabled) sweepers.start();

  const replay = new DeadLetterReplay({ letters: parts.letters, bus, jobs: jobStore, batches });
  const webhookSecrets = new WebhookSecretAdmin({ db, secrets: parts.webhooks.secrets });
  return {
    http: createAsyncHttpApi(deps, parts, jobService),
    grpcService: jobsGrpcService({ keys: deps.keys, jobs: jobService }),
    registerAdminRoutes: (admin) => {
      registerDeadLetterRoutes(admin, { letters: parts.letters, replay });
      registerWebhookSecretRoutes(admin, { secrets: webhookSecrets });
    },
    webhookSecrets,
    sweep: () => sweepers.jobs.sweep(),
    sweepRetention: () => sweepers.retention.sweep(),
    async close() {
      await sweepers.stop();
      cancellation.abortAll("shutdown");
      await Promise.all(subscriptions.map((subscription) => subscription.stop()));
      cancellation.stop();
      await parts.webhooks.agent.close();
    },
  };
}

/** `/v1/jobs`, `/v1/files`, `/v1/batches` behind the caller's API key. */
function createAsyncHttpApi(deps: JobsDeps, parts: Parts, jobs: JobService): AsyncHttpApi {
  const { config } = deps;
  const http = new AsyncHttpApi({ keys: deps.keys, maxBodyBytes: deps.maxBodyBytes });
  registerJobRoutes(http, { jobs });
  registerFileRoutes(http, {
    files: parts.files,
    maxBytes: config.files.maxBytes,
    maxRequests: config.batches.maxRequests,
    inputFilesMs: config.retention.inputFilesMs,
    metrics: parts.metrics,
  });
  registerBatchRoutes(http, { batches: parts.batches });
  return http;
}

/** What the workers share with the APIs. */
interface Parts {
  jobStore: JobStore;
  batchStore: BatchStore;
  files: FileStore;
  letters: DeadLetterStore;
  queue: JobQueue;
  cancellation: JobCancellation;
  notifier: JobNotifier;
  batches: BatchService;
  finalizer: BatchFinalizer;
  metrics: JobsMetrics;
  webhooks: ReturnType<typeof createWebhooks>;
}

/** Webhooks: which addresses they may reach, their signing secrets, the guarded connection pool. */
function createWebhooks(deps: JobsDeps) {
  const { webhooks } = deps.config;
  const policy = new WebhookAddressPolicy(webhooks);
  const gatewaySecret = webhooks.signingSecret ?? deps.keyHashSecret;
  return {
    policy,
    secrets: new WebhookSecrets({ db: deps.db, gatewaySecret, now: deps.now }),
    agent: webhookAgent(policy, { connectTimeoutMs: webhooks.timeoutMs }),
  };
}

/**
 * The job sweeper (the safety net under the work queue) and the retention sweeper, each on its own
 * interval: retention needs no hurry, the safety net does.
 */
function createSweepers(deps: JobsDeps, parts: Parts) {
  const { config, logger } = deps;
  const jobs = new JobSweeper({
    jobs: parts.jobStore,
    queue: parts.queue,
    notifier: parts.notifier,
    batches: parts.batchStore,
    batchService: parts.batches,
    finalizer: parts.finalizer,
    intervalMs: config.sweepIntervalMs,
    ackWaitMs: config.ackWaitMs,
    logger,
  });
  const retention = new RetentionSweeper({
    jobs: parts.jobStore,
    batches: parts.batchStore,
    files: parts.files,
    letters: parts.letters,
    retention: config.retention,
    metrics: parts.metrics,
    logger,
    now: deps.now,
  });
  const retentionTask = new PeriodicTask({
    name: "retention sweep",
    intervalMs: config.retention.sweepIntervalMs,
    pass: async (signal) => void (await retention.sweep(signal)),
    logger,
  });
  return {
    jobs,
    retention,
    start: () => {
      jobs.start();
      retentionTask.start();
    },
    stop: () => Promise.all([jobs.stop(), retentionTask.stop()]),
  };
}

/** Subscribes the work-queue consumers (runs, batch starts, webhooks) and the dead-letter pair. */
async function startWorkers(deps: JobsDeps, parts: Parts): Promise<Subscription[]> {
  const { config, db, bus, logger } = deps;
  const { jobStore, metrics } = parts;
  const handlers = {
    run: new JobWorker({
      store: jobStore,
      runner: new JobRunner({ pipeline: deps.pipeline, db, attemptTimeoutMs: config.attemptTimeoutMs }),
      limiter: new ModelRateLimiter(config.rateLimits),
      cancellation: parts.cancellation,
      notifier: parts.notifier,
      metrics,
      logger,
      workerId: newObjectId("worker_"),
      ackWaitMs: config.ackWaitMs,
      maxDeliveries: config.maxDeliveries,
      retry: config.retry,
    }).handle,
    batch: new BatchStarter({
      db,
      batches: parts.batchStore,
      files: parts.files,
      queue: parts.queue,
      maxRequests: config.batches.maxRequests,
      ackWaitMs: config.ackWaitMs,
      logger,
    }).handle,
    webhook: new WebhookSender({
      ...parts.webhooks,
      store: jobStore,
      timeoutMs: config.webhooks.timeoutMs,
      metrics,
      logger,
    }).handle,
  };
  const subscriptions: Subscription[] = [];
  for (const spec of consumerSpecs(config))
    subscriptions.push(await bus.consume(spec.consumer, handlers[spec.kind]));
  const mover = new DeadLetterMover({ bus, logger });
  const recorder = new DeadLetterRecorder({
    letters: parts.letters,
    jobs: jobStore,
    notifier: parts.notifier,
    batches: parts.batches,
    metrics,
    logger,
  });
  // Unlimited deliveries: an advisory or a dead letter is never given up on.
  subscriptions.push(
    await bus.consume({ stream: jobAdvisoryStream.name, durable: "dead-letter-mover" }, mover.handle),
  );
  subscriptions.push(
    await bus.consume({ stream: jobDeadLetterStream.name, durable: "dead-letter-index" }, recorder.handle),
  );
  return subscriptions;
}

/** The three work-queue consumers, one per kind of work item (JetStream: one consumer per subject). */
function consumerSpecs(config: JobsConfig): { kind: keyof typeof jobWorkSubjects; consumer: ConsumerSpec }[] {
  const { retry, ackWaitMs, maxDeliveries, webhooks } = config;
  // Used by the bus when a handler fails unexpectedly (e.g. Postgres away); job failures nak themselves.
  const backoffMs = [1, 2, 4, 8, 16].map((factor) => Math.min(retry.maxMs, retry.initialMs * factor));
  const work = (kind: keyof typeof jobWorkSubjects, extra: Partial<ConsumerSpec>) => ({
    kind,
    consumer: {
      stream: jobWorkStream.name,
      durable: `jobs-${kind}`,
      filterSubject: jobWorkSubjects[kind],
      ackWaitMs,
      maxDeliver: maxDeliveries,
      backoffMs,
      ...extra,
    },
  });
  return [
    work("run", { concurrency: config.workers.concurrency }),
    work("batch", { concurrency: 1 }),
    work("webhook", {
      concurrency: webhooks.concurrency,
      maxDeliver: webhooks.maxDeliveries,
      backoffMs: webhooks.backoffMs,
      ackWaitMs: Math.max(ackWaitMs, 2 * webhooks.timeoutMs),
    }),
  ];
}
