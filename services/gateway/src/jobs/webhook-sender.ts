import { fromBinary } from "@bufbuild/protobuf";
import type { BusMessage, Logger } from "@strata/kit";
import { gatewayJobsV1 } from "@strata/proto";
import { type Dispatcher, fetch } from "undici";
import { jobJson } from "./job-json.js";
import { unixSeconds } from "./job-model.js";
import type { JobStore } from "./job-store.js";
import type { JobsMetrics } from "./jobs-metrics.js";
import type { WebhookAddressPolicy } from "./webhook-address-policy.js";
import { checkLiteralHost, webhookRefusalIn } from "./webhook-agent.js";
import type { WebhookSecrets } from "./webhook-secrets.js";
import { signatureHeader, signWebhook, webhookIdHeader } from "./webhook-signature.js";

export interface WebhookSenderDeps {
  store: Pick<JobStore, "get">;
  secrets: Pick<WebhookSecrets, "signingSecrets">;
  policy: Pick<WebhookAddressPolicy, "refusal">;
  /** The guarded connection pool (webhookAgent): it refuses hosts resolving to non-public addresses. */
  agent: Dispatcher;
  timeoutMs: number;
  metrics: JobsMetrics;
  logger: Logger;
  now?: () => number;
}

/**
 * Handles WebhookDelivery work items: POSTs `{id, object: "event", type: "job.<status>", created_at,
 * data: <job>}` to the job's webhook_url, signed. Any 2xx settles it; anything else throws, so the bus
 * naks it with the webhook back-off until its deliveries run out (then it is dead-lettered, and an
 * admin can replay it). The event id stays the same across attempts, for receivers to de-duplicate.
 * A host that is (or resolves to) an address webhooks may not reach is refused like a failed delivery;
 * redirects are never followed (a 3xx is a failure), so an answer cannot send the gateway elsewhere.
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
    const now = (this.deps.now ?? Date.now)();
    const eventId = `evt_${job.id}_${delivery.status}`;
    const body = JSON.stringify({
      id: eventId,
      object: "event",
      type: `job.${delivery.status}`,
      created_at: unixSeconds(job.completedAt) ?? Math.floor(now / 1000),
      data: jobJson(job),
    });
    const secrets = await this.deps.secrets.signingSecrets(job.tenantId);
    try {
      await this.post(job.webhookUrl, body, {
        "content-type": "application/json",
        [webhookIdHeader]: eventId,
        [signatureHeader]: signWebhook(secrets, body, Math.floor(now / 1000)),
      });
      this.deps.metrics.webhooks.inc({ outcome: "delivered" });
    } catch (error) {
      this.failed(error, job.id, message.deliveryCount);
      throw error;
    }
  };

  private async post(url: string, body: string, headers: Record<string, string>): Promise<void> {
    const target = new URL(url);
    checkLiteralHost(this.deps.policy, target);
    const response = await fetch(target, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(this.deps.timeoutMs),
      dispatcher: this.deps.agent,
    });
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300)
      throw new Error(`the webhook endpoint answered HTTP ${response.status}`);
  }

  private failed(error: unknown, jobId: string, deliveryCount: number): void {
    const refused = webhookRefusalIn(error);
    if (refused) {
      this.deps.metrics.webhooks.inc({ outcome: "refused" });
      this.deps.metrics.webhookRefusals.inc({ kind: refused.kind });
      this.deps.logger.warn(
        { jobId, deliveryCount, host: refused.host, address: refused.address, addressKind: refused.kind },
        `job webhook refused: ${refused.message}; it will be retried, then dead-lettered`,
      );
      return;
    }
    this.deps.metrics.webhooks.inc({ outcome: "failed" });
    this.deps.logger.warn(
      { err: error, jobId, deliveryCount },
      "job webhook delivery failed; it will be retried",
    );
  }
}
