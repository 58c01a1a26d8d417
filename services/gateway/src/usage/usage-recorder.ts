import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import type { Bus, Counter, Logger } from "@strata/kit";
import { gatewayEventsV1, usageSubject } from "@strata/proto";

export type UsageEventInit = MessageInitShape<typeof gatewayEventsV1.UsageEventSchema>;

const retryDelaysMs = [50, 250, 1_000, 5_000];

/**
 * Publishes one UsageEvent per request without holding up the answer. The request id is the message
 * id, so a retried publish is stored once by JetStream and once by the ledger.
 */
export class UsageRecorder {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly bus: Pick<Bus, "publish">,
    private readonly logger: Logger,
    private readonly failures: Counter,
  ) {}

  record(event: UsageEventInit): void {
    const message = create(gatewayEventsV1.UsageEventSchema, event);
    const data = toBinary(gatewayEventsV1.UsageEventSchema, message);
    const publishing = this.publish(usageSubject(message.tenantId), data, message);
    this.pending.add(publishing);
    void publishing.finally(() => this.pending.delete(publishing));
  }

  private async publish(subject: string, data: Uint8Array, event: gatewayEventsV1.UsageEvent): Promise<void> {
    const { requestId } = event;
    for (let attempt = 0; ; attempt++) {
      try {
        // In-process consumers (the ledger, on the embedded bus) get the event as it is, undecoded.
        await this.bus.publish(subject, data, { msgId: requestId, decoded: event });
        return;
      } catch (error) {
        if (attempt >= retryDelaysMs.length) {
          this.failures.inc();
          this.logger.error({ err: error, requestId }, "usage event could not be published");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, retryDelaysMs[attempt]));
      }
    }
  }

  /** Waits for publishes in progress, so a graceful shutdown loses no usage. */
  async flush(): Promise<void> {
    await Promise.all(this.pending);
  }
}
