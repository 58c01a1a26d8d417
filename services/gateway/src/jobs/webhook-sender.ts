import { fromBinary } from "@bufbuild/protobuf";
import type { BusMessage, Logger } from "@strata/kit";
import { gatewayJobsV1 } from "@strata/proto";
import { jobJson } from "./job-json.js";
import { unixSeconds } from "./job-model.js";
import type { JobStore } from "./job-store.js";
import type { JobsMetrics } from "./jobs-metrics.js";
import { signatureHeader, signWebhook, tenantWebhookSecret, webhookIdHeader } from "./webhook-signature.js";

export interface WebhookSenderDeps {
  store: Pick<JobStore, "get">;
  /** The gateway secret each tenant's signing secret is derived from. */
  signingSecret: string;
  timeoutMs: number;
  metrics: JobsMetrics;
  logger: Logger;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * Handles WebhookDelivery work items: POSTs `{id, object: "event", type: "job.<status>", created_at,
 * data: <job>}` to the job's webhook_url, signed. Any 2xx settles it; anything else throws, so the bus
 * naks it with the webhook back-off until its deliveries run out (then it is dead-lettered, and an
 * admin can replay it). The event id stays the same across attempts, for receivers to de-duplicate.
 */
export class WebhookSender {
  constructor(private readonly deps: WebhookSenderDeps) {}

  readonly handle = async (message: BusMessage): Promise<void> => {
    let delivery: gatewayJobsV1.WebhookDelivery;
    try {
      delivery = fromBinary(gatewayJobsV1.WebhookDeliverySchema, message.data);
    } catch {
      message.term();
      return;
    }
    const job = await this.deps.store.get(delivery.jobId);
    if (!job?.webhookUrl) {
      message.term(); // nothing to deliver (the job or its URL is gone)
      return;
    }
    const eventId = `evt_${job.id}_${delivery.status}`;
    const body = JSON.stringify({
      id: eventId,
      object: "event",
      type: `job.${delivery.status}`,
      created_at: unixSeconds(job.completedAt) ?? Math.floor(Date.now() / 1000),
      data: jobJson(job),
    });
    const timestamp = Math.floor((this.deps.now ?? Date.now)() / 1000);
    const secret = tenantWebhookSecret(this.deps.signingSecret, job.tenantId);
    try {
      await this.post(job.webhookUrl, body, {
        "content-type": "application/json",
        [webhookIdHeader]: eventId,
        [signatureHeader]: signWebhook(secret, body, timestamp),
      });
      this.deps.metrics.webhooks.inc({ outcome: "delivered" });
    } catch (error) {
      this.deps.metrics.webhooks.inc({ outcome: "failed" });
      this.deps.logger.warn(
        { err: error, jobId: job.id, deliveryCount: message.deliveryCount },
        "job webhook delivery failed; it will be retried",
      );
      throw error;
    }
  };

  private async post(url: string, body: string, headers: Record<string, string>): Promise<void> {
    const response = await (this.deps.fetch ?? fetch)(url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(this.deps.timeoutMs),
    });
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300)
      throw new Error(`the webhook endpoint answered HTTP ${response.status}`);
  }
}
