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
}

export interface Jobs {
  /** `/v1/jobs`, `/v1/files`, `/v1/batches`. */
  http: AsyncHttpApi;
  grpcService: ServiceImpl<typeof gatewayJobsV1.JobsService>;
  /** `/admin/v1/dead-letters`. */
  registerAdminRoutes(admin: AdminRouter): void;
  /** Runs the sweeper once (it also runs on its own interval where workers run). */
  sweep(): Promise<void>;
  /** Stops taking work; running attempts are handed back to the queue for another replica. */
  close(): Promise<void>;
}

/** Async jobs, the Files and Batch APIs, and (where enabled) the workers that run them. */
export async function createJobs(deps: JobsDeps): Promise<Jobs> {
  const { config, db, bus, logger } = deps;
  const metrics = createJobsMetrics(deps.registry);
  const jobStore = new JobStore(db);
  const files = new FileStore(db);
  const batchStore = new BatchStore(db);
  const letters = new DeadLetterStore(db);
  const queue = new JobQueue({ bus, store: jobStore });
  await queue.setUp();
  const cancellation = new JobCancellation({ bus, logger });
  cancellation.start();
  const finalizer = new BatchFinalizer({ db, batches: batchStore, files, metrics, logger });
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
  const jobService = new JobService({ store: jobStore, queue, notifier, cancellation, metrics, logger });
  const signingSecret = config.webhooks.signingSecret ?? deps.keyHashSecret;

  const http = new AsyncHttpApi({ keys: deps.keys, maxBodyBytes: deps.maxBodyBytes });
  registerJobRoutes(http, { jobs: jobService, signingSecret });
  registerFileRoutes(http, {
    files,
    maxBytes: config.files.maxBytes,
    maxRequests: config.batches.maxRequests,
    metrics,
  });
  registerBatchRoutes(http, { batches });

  const sweeper = new JobSweeper({
    jobs: jobStore,
    queue,
    notifier,
    batches: batchStore,
    batchService: batches,
    finalizer,
    intervalMs: config.sweepIntervalMs,
    ackWaitMs: config.ackWaitMs,
    logger,
  });
  const parts: Parts = {
    jobStore,
    batchStore,
    files,
    letters,
    queue,
    cancellation,
    notifier,
    batches,
    metrics,
  };
  const subscriptions = config.workers.enabled ? await startWorkers(deps, parts, signingSecret) : [];
  if (config.workers.enabled) sweeper.start();

  const replay = new DeadLetterReplay({ letters, bus, jobs: jobStore, batches });
  return {
    http,
    grpcService: jobsGrpcService({ keys: deps.keys, jobs: jobService }),
    registerAdminRoutes: (admin) => registerDeadLetterRoutes(admin, { letters, replay }),
    sweep: () => sweeper.sweep(),
    async close() {
      await sweeper.stop();
      cancellation.abortAll("shutdown");
      await Promise.all(subscriptions.map((subscription) => subscription.stop()));
      cancellation.stop();
    },
  };
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
  metrics: JobsMetrics;
}

/** Subscribes the work-queue consumers (runs, batch starts, webhooks) and the dead-letter pair. */
async function startWorkers(deps: JobsDeps, parts: Parts, signingSecret: string): Promise<Subscription[]> {
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
      store: jobStore,
      signingSecret,
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
