import type { Logger } from "pino";
import { withExtractedTraceContext } from "./trace-headers.js";
import type { BusMessage, MessageHandler } from "./types.js";

export type BusLogger = Pick<Logger, "debug" | "info" | "warn" | "error">;

/** Delay before the next delivery after `deliveryCount` failed ones; the last value repeats. */
export function backoffDelay(backoffMs: readonly number[], deliveryCount: number): number {
  if (backoffMs.length === 0) return 0;
  return backoffMs[Math.min(Math.max(deliveryCount - 1, 0), backoffMs.length - 1)]!;
}

/**
 * Runs one handler with the contract both implementations share: the message is settled exactly
 * once — by the handler, or by us afterwards (ack when it resolved, nak with back-off when it
 * threw). Settling twice would confuse JetStream's ack state, so later calls are ignored.
 *
 * Promise callbacks rather than an async function: a consumer that batches (the usage ledger)
 * keeps each handler pending for up to a second, and a suspended async function's frame (about
 * 1 KB here) would be copied and promoted by the young-generation GC with every message.
 */
export function runHandler(
  delivery: BusMessage,
  handler: MessageHandler,
  backoffMs: readonly number[],
  logger?: BusLogger,
): Promise<void> {
  const message = new SettleOnce(delivery, logger);
  let handled: Promise<void>;
  try {
    handled = withExtractedTraceContext(delivery.headers, () => handler(message));
  } catch (error) {
    message.handlerFailed(error, backoffMs);
    return Promise.resolve();
  }
  return Promise.resolve(handled).then(
    () => message.ack(),
    (error: unknown) => message.handlerFailed(error, backoffMs),
  );
}

/**
 * The handler's view of a delivery: settling it a second time does nothing. A class rather than an
 * object of closures, since every message of every consumer passes through here.
 */
class SettleOnce implements BusMessage {
  readonly subject: string;
  readonly decoded: unknown;
  readonly headers: Record<string, string>;
  readonly deliveryCount: number;
  readonly streamSeq: number;
  private settled = false;

  constructor(
    private readonly delivery: BusMessage,
    private readonly logger: BusLogger | undefined,
  ) {
    this.subject = delivery.subject;
    this.decoded = delivery.decoded;
    this.headers = delivery.headers;
    this.deliveryCount = delivery.deliveryCount;
    this.streamSeq = delivery.streamSeq;
  }

  /** Read through: the in-process bus encodes a message's bytes only when someone reads them. */
  get data(): Uint8Array {
    return this.delivery.data;
  }

  ack(): void {
    if (this.settle()) this.attempt(() => this.delivery.ack());
  }

  /** The handler threw or rejected: redelivered after the back-off for this delivery. */
  handlerFailed(error: unknown, backoffMs: readonly number[]): void {
    const delayMs = backoffDelay(backoffMs, this.deliveryCount);
    this.logger?.warn(
      { err: error, subject: this.subject, deliveryCount: this.deliveryCount, retryInMs: delayMs },
      "bus handler failed; message will be redelivered",
    );
    this.nak(delayMs);
  }

  nak(delayMs?: number): void {
    if (this.settle()) this.attempt(() => this.delivery.nak(delayMs));
  }

  term(): void {
    if (this.settle()) this.attempt(() => this.delivery.term());
  }

  working(): void {
    if (this.settled) return;
    try {
      this.delivery.working();
    } catch (error) {
      this.logger?.warn({ err: error, subject: this.subject }, "could not extend bus message ack-wait");
    }
  }

  /** True the first time only. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    return true;
  }

  private attempt(settle: () => void): void {
    try {
      settle();
    } catch (error) {
      // e.g. the connection closed meanwhile: the server redelivers after ack-wait anyway.
      this.logger?.error({ err: error, subject: this.subject }, "could not settle bus message");
    }
  }
}

/** Tracks in-flight handlers so consumption stays bounded and `stop()` can wait for them. */
export class InFlight {
  readonly #limit: number;
  #running = 0;
  /** Woken whenever a slot frees: waitForSlot() and drain() look again. */
  #waiters: (() => void)[] = [];
  readonly #release = (): void => {
    this.#running--;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  };

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be >= 1, got ${limit}`);
    this.#limit = limit;
  }

  get free(): number {
    return this.#limit - this.#running;
  }

  /** Resolves when at least one slot is free. */
  async waitForSlot(): Promise<void> {
    while (this.free <= 0) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Starts `work` in a slot; the returned promise resolves once the slot is free again, also when
   * the work failed (runHandler's never does: it settles the message instead).
   */
  run(work: () => Promise<void>): Promise<void> {
    this.#running++;
    // Start the work on a later microtask: a handler that settles synchronously (e.g. nak(0))
    // can wake the pump again, which must already see this slot as taken.
    return Promise.resolve().then(work).then(this.#release, this.#release);
  }

  async drain(): Promise<void> {
    while (this.#running > 0) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}
