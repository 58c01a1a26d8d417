import { fromBinary } from "@bufbuild/protobuf";
import type { BusMessage, Logger } from "@strata/kit";
import { gatewayJobsV1 } from "@strata/proto";
import { Heartbeat } from "./heartbeat.js";
import { JobAbortError, type JobCancellation } from "./job-cancellation.js";
import { isFinal, type JobOutcome, type JobRecord } from "./job-model.js";
import type { JobNotifier } from "./job-notifier.js";
import type { AttemptResult, JobRunner } from "./job-runner.js";
import type { JobStore } from "./job-store.js";
import type { JobsMetrics } from "./jobs-metrics.js";
import type { ModelRateLimiter } from "./model-rate-limiter.js";

export interface JobWorkerDeps {
  store: Pick<JobStore, "get" | "claim" | "renewLease" | "finish" | "release">;
  runner: Pick<JobRunner, "run">;
  limiter: Pick<ModelRateLimiter, "acquire">;
  cancellation: Pick<JobCancellation, "track" | "abort">;
  notifier: Pick<JobNotifier, "finished">;
  metrics: JobsMetrics;
  logger: Logger;
  /** This worker's lease owner name. */
  workerId: string;
  ackWaitMs: number;
  maxDeliveries: number;
  retry: { initialMs: number; maxMs: number };
  random?: () => number;
}

/**
 * Handles JobRun work items. Postgres decides what a delivery does: a finished job is only reported
 * (never run again), a job leased by a live worker is waited for, anything else is claimed and run.
 * A retryable failure naks with exponential back-off; the last one fails the job and naks once more,
 * so JetStream gives up, publishes its max-deliveries advisory and the item is dead-lettered.
 */
export class JobWorker {
  constructor(private readonly deps: JobWorkerDeps) {}

  readonly handle = async (message: BusMessage): Promise<void> => {
    const jobId = decodeJobId(message.data);
    if (!jobId) {
      this.deps.logger.error({ subject: message.subject }, "malformed job work item; dropping it");
      message.term();
      return;
    }
    const heartbeat = new Heartbeat(message, this.deps.ackWaitMs / 3, this.deps.logger);
    try {
      await this.process(jobId, message, heartbeat);
    } finally {
      heartbeat.stop();
    }
  };

  private async process(jobId: string, message: BusMessage, heartbeat: Heartbeat): Promise<void> {
    const job = await this.deps.store.get(jobId);
    if (!job) {
      this.deps.logger.error({ jobId }, "work item for an unknown job; dropping it");
      message.term();
      return;
    }
    if (isFinal(job.status)) {
      await this.deps.notifier.finished(job);
      return;
    }
    const attempt = this.deps.cancellation.track(jobId);
    try {
      const waitedMs = await this.deps.limiter.acquire(job.model, attempt.signal);
      this.deps.metrics.rateLimitWait.observe(waitedMs / 1000);
      const claimed = await this.claim(jobId, message);
      if (!claimed) return;
      heartbeat.onBeat(() => this.renew(jobId));
      this.deps.metrics.running.inc();
      const started = performance.now();
      const result = await this.deps.runner.run(claimed, attempt.signal).finally(() => {
        this.deps.metrics.running.dec();
        this.deps.metrics.attemptDuration.observe((performance.now() - started) / 1000);
      });
      await this.settle(claimed, result, message, attempt.signal);
    } catch (error) {
      if (!(error instanceof JobAbortError)) throw error;
      await this.aborted(jobId, error, message); // while waiting for the rate limit
    } finally {
      attempt.done();
    }
  }

  /** Claims the job; when another live worker holds it, waits for its lease once, then hands back. */
  private async claim(jobId: string, message: BusMessage): Promise<JobRecord | undefined> {
    const { store, workerId, ackWaitMs } = this.deps;
    for (let round = 0; round < 2; round++) {
      const claimed = await store.claim(jobId, workerId, ackWaitMs);
      if (claimed) return claimed;
      const current = await store.get(jobId);
      if (!current) {
        message.term();
        return undefined;
      }
      if (isFinal(current.status)) {
        await this.deps.notifier.finished(current);
        return undefined;
      }
      const leftMs = (current.leaseExpiresAt?.getTime() ?? 0) - Date.now();
      if (round === 0 && leftMs > 0) await sleep(Math.min(leftMs + 100, ackWaitMs));
    }
    // Still held: a duplicate delivery while the job runs elsewhere. Look again later.
    message.nak(ackWaitMs);
    return undefined;
  }

  private async renew(jobId: string): Promise<void> {
    const state = await this.deps.store.renewLease(jobId, this.deps.workerId, this.deps.ackWaitMs);
    if (state === "cancelled") this.deps.cancellation.abort(jobId, "cancelled");
    if (state === "lost") this.deps.cancellation.abort(jobId, "lease-lost");
  }

  private async settle(
    job: JobRecord,
    result: AttemptResult,
    message: BusMessage,
    signal: AbortSignal,
  ): Promise<void> {
    if (result.kind === "aborted") {
      await this.aborted(job.id, signal.reason as JobAbortError, message);
      return;
    }
    if (result.kind === "finished") {
      this.deps.metrics.attempts.inc({ outcome: result.outcome.status });
      await this.finish(job, result.outcome);
      return;
    }
    this.deps.metrics.attempts.inc({ outcome: "retry" });
    if (message.deliveryCount >= this.deps.maxDeliveries) {
      // The last delivery: the job fails with this attempt's error, and the nak lets JetStream give up.
      await this.finish(job, result.failed);
      message.nak();
      return;
    }
    await this.deps.store.release(job.id, this.deps.workerId, result.failed.error);
    message.nak(Math.max(this.backoffMs(message.deliveryCount), result.retryAfterMs ?? 0));
  }

  private async finish(job: JobRecord, outcome: JobOutcome): Promise<void> {
    const finished = await this.deps.store.finish(job.id, this.deps.workerId, outcome);
    const current = finished ?? (await this.deps.store.get(job.id));
    if (finished) this.deps.metrics.finished.inc({ status: finished.status });
    // Not ours any more (cancelled meanwhile): report whatever final state it has.
    if (current) await this.deps.notifier.finished(current);
  }

  private async aborted(jobId: string, error: JobAbortError, message: BusMessage): Promise<void> {
    this.deps.metrics.attempts.inc({ outcome: "aborted" });
    if (error.reason === "shutdown") {
      await this.deps.store.release(jobId, this.deps.workerId);
      message.nak(); // another replica takes it now
      return;
    }
    if (error.reason === "lease-lost") {
      message.nak(this.deps.ackWaitMs); // whoever holds it finishes it; look again later
      return;
    }
    const current = await this.deps.store.get(jobId);
    if (current) await this.deps.notifier.finished(current);
  }

  /** initial × 2^(n−1), capped, with "equal jitter" so retries of a burst spread out. */
  private backoffMs(deliveryCount: number): number {
    const { initialMs, maxMs } = this.deps.retry;
    const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, deliveryCount - 1));
    return Math.round(base / 2 + (this.deps.random ?? Math.random)() * (base / 2));
  }
}

function decodeJobId(data: Uint8Array): string | undefined {
  try {
    return fromBinary(gatewayJobsV1.JobRunSchema, data).jobId || undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
