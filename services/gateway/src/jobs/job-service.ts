import { type Logger, StrataError } from "@strata/kit";
import { requestHash } from "../admin/idempotency.js";
import type { Page } from "../admin/tenancy-model.js";
import type { AuthContext } from "../auth/auth-context.js";
import type { JobCancellation } from "./job-cancellation.js";
import { type JobRecord, newObjectId } from "./job-model.js";
import type { JobNotifier } from "./job-notifier.js";
import type { JobQueue } from "./job-queue.js";
import type { JobSubmission } from "./job-request.js";
import type { JobStore } from "./job-store.js";
import type { JobsMetrics } from "./jobs-metrics.js";
import type { WebhookAddressPolicy } from "./webhook-address-policy.js";
import { submittedHostRefusal } from "./webhook-url.js";

export interface JobServiceDeps {
  store: Pick<JobStore, "insert" | "getForTenant" | "list" | "cancel">;
  queue: Pick<JobQueue, "enqueueJobs">;
  notifier: Pick<JobNotifier, "finished">;
  cancellation: Pick<JobCancellation, "announce">;
  /** Which addresses webhooks may reach: an address refused anyway is refused at once. */
  webhookPolicy: Pick<WebhookAddressPolicy, "refusal" | "allowsHost">;
  metrics: JobsMetrics;
  logger: Logger;
}

/** The jobs API behind both faces (HTTP and gRPC): submit, get, list and cancel, scoped to the caller's tenant. */
export class JobService {
  constructor(private readonly deps: JobServiceDeps) {}

  /**
   * Stores the job, then queues it. The job is accepted once stored: should the queue be unreachable
   * the sweeper queues it later, so a submit never fails because NATS is away.
   */
  async submit(
    auth: AuthContext,
    submission: JobSubmission,
    idempotencyKey: string | undefined,
  ): Promise<{ job: JobRecord; created: boolean }> {
    const { request, endpoint, webhookUrl, metadata } = submission;
    if (webhookUrl !== undefined) this.checkWebhookHost(webhookUrl);
    const result = await this.deps.store.insert({
      id: newObjectId("job_"),
      tenantId: auth.tenantId,
      apiKeyId: auth.apiKeyId,
      endpoint,
      model: request.model,
      request,
      webhookUrl,
      metadata,
      idempotencyKey,
      requestHash:
        idempotencyKey === undefined ? undefined : requestHash({ endpoint, request, webhookUrl, metadata }),
    });
    if (result.created) {
      this.deps.metrics.submitted.inc({ endpoint });
      await this.deps.queue.enqueueJobs([result.job.id]).catch((error: unknown) => {
        this.deps.logger.warn(
          { err: error, jobId: result.job.id },
          "could not queue the job yet; the sweeper will",
        );
      });
    }
    return result;
  }

  private checkWebhookHost(webhookUrl: string): void {
    const refused = submittedHostRefusal(this.deps.webhookPolicy, new URL(webhookUrl));
    if (!refused) return;
    throw new StrataError(
      "invalid_request",
      `Invalid value for 'webhook_url': ${refused.host} is a ${refused.kind} address; webhooks may only reach public addresses unless the gateway is configured to allow it.`,
      { param: "webhook_url" },
    );
  }

  async get(auth: AuthContext, id: string): Promise<JobRecord> {
    const job = await this.deps.store.getForTenant(auth.tenantId, id);
    if (!job) throw new StrataError("not_found", `No job with id '${id}'.`, { param: "id" });
    return job;
  }

  list(auth: AuthContext, limit: number, after: string | undefined): Promise<Page<JobRecord>> {
    return this.deps.store.list(auth.tenantId, limit, after);
  }

  /**
   * A queued job never runs; a running one is aborted on the replica running it. Cancelling a cancelled
   * job changes nothing; a job that already succeeded or failed cannot be cancelled.
   */
  async cancel(auth: AuthContext, id: string): Promise<JobRecord> {
    const cancelled = await this.deps.store.cancel(auth.tenantId, id);
    if (!cancelled) {
      const job = await this.get(auth, id);
      if (job.status === "cancelled") return job;
      throw new StrataError(
        "failed_precondition",
        `The job '${id}' already ${job.status}; it cannot be cancelled.`,
      );
    }
    if (cancelled.wasRunning) this.deps.cancellation.announce(id);
    await this.deps.notifier.finished(cancelled.job).catch((error: unknown) => {
      this.deps.logger.warn(
        { err: error, jobId: id },
        "could not report the cancellation yet; the sweeper will",
      );
    });
    return cancelled.job;
  }
}
