import type { BusMessage, Logger } from "@strata/kit";

/**
 * Keeps a work item alive while its handler waits or runs: every third of the ack wait it tells
 * JetStream it is still being worked on (so it is not redelivered) and runs `beat` (the job lease).
 */
export class Heartbeat {
  private readonly timer: NodeJS.Timeout;
  private beat: (() => Promise<void>) | undefined;
  private beating = false;

  constructor(
    private readonly message: Pick<BusMessage, "working">,
    intervalMs: number,
    private readonly logger: Pick<Logger, "warn">,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  /** Also runs `beat` on every tick from now on. */
  onBeat(beat: () => Promise<void>): void {
    this.beat = beat;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    this.message.working();
    if (!this.beat || this.beating) return;
    this.beating = true;
    this.beat()
      .catch((error: unknown) => this.logger.warn({ err: error }, "job heartbeat failed"))
      .finally(() => {
        this.beating = false;
      });
  }
}
