import { toBinary } from "@bufbuild/protobuf";
import type { Bus, Counter, Logger } from "@strata/kit";
import { gatewayEventsV1, usageSubject } from "@strata/proto";
import { type UsageEventInit, usageEvent } from "./usage-event.js";

export type { UsageEventInit } from "./usage-event.js";

const retryDelaysMs = [50, 250, 1_000, 5_000];

/**
 * Publishes one UsageEvent per request without holding up the answer. The request id is the message
 * id, so a retried publish is stored once by JetStream and once by the ledger.
 */
export class UsageRecorder {
  /** Publishes not yet stored (or given up on), and flush() calls waiting for there to be none. */
  private inFlight = 0;
  private drained: (() => void)[] = [];

  constructor(
    private readonly bus: Pick<Bus, "publish">,
    private readonly logger: Logger,
    private readonly failures: Counter,
  ) {}

  record(event: UsageEventInit): void {
    const message = usageEvent(event);
    // Encoded when the bus needs the bytes: at once for NATS; on the in-process bus only if some
    // consumer reads them, as the ledger takes the event itself (decoded) and never does.
    const encode = toBinary.bind(undefined, gatewayEventsV1.UsageEventSchema, message);
    void this.publish(usageSubject(message.tenantId), encode, message);
  }

  private async publish(
    subject: string,
    data: () => Uint8Array,
    event: gatewayEventsV1.UsageEvent,
  ): Promise<void> {
    const { requestId } = event;
    this.inFlight++;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
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
    } finally {
      if (--this.inFlight === 0) for (const wake of this.drained.splice(0)) wake();
    }
  }

  /** Waits for publishes in progress, so a graceful shutdown loses no usage. */
  async flush(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
  }
}
