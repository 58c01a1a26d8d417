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
 */
export async function runHandler(
  delivery: BusMessage,
  handler: MessageHandler,
  backoffMs: readonly number[],
  logger?: BusLogger,
): Promise<void> {
  let settled = false;
  const settleOnce =
    <A extends unknown[]>(settle: (...args: A) => void) =>
    (...args: A) => {
      if (settled) return;
      settled = true;
      try {
        settle(...args);
      } catch (error) {
        // e.g. the connection closed meanwhile: the server redelivers after ack-wait anyway.
        logger?.error({ err: error, subject: delivery.subject }, "could not settle bus message");
      }
    };
  const message: BusMessage = {
    subject: delivery.subject,
    data: delivery.data,
    ...(delivery.decoded === undefined ? {} : { decoded: delivery.decoded }),
    headers: delivery.headers,
    deliveryCount: delivery.deliveryCount,
    streamSeq: delivery.streamSeq,
    ack: settleOnce(() => delivery.ack()),
    nak: settleOnce((delayMs?: number) => delivery.nak(delayMs)),
    term: settleOnce(() => delivery.term()),
    working: () => {
      if (settled) return;
      try {
        delivery.working();
      } catch (error) {
        logger?.warn({ err: error, subject: delivery.subject }, "could not extend bus message ack-wait");
      }
    },
  };
  try {
    await withExtractedTraceContext(delivery.headers, () => handler(message));
    message.ack();
  } catch (error) {
    const delayMs = backoffDelay(backoffMs, delivery.deliveryCount);
    logger?.warn(
      { err: error, subject: delivery.subject, deliveryCount: delivery.deliveryCount, retryInMs: delayMs },
      "bus handler failed; message will be redelivered",
    );
    message.nak(delayMs);
  }
}

/** Tracks in-flight handlers so consumption stays bounded and `stop()` can wait for them. */
export class InFlight {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  #waiters: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be >= 1, got ${limit}`);
    this.#limit = limit;
  }

  get free(): number {
    return this.#limit - this.#running.size;
  }

  /** Resolves when at least one slot is free. */
  async waitForSlot(): Promise<void> {
    while (this.free <= 0) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Starts `work` in a slot; the returned promise settles once the slot is free again. */
  run(work: () => Promise<void>): Promise<void> {
    // Start the work on a later microtask: a handler that settles synchronously (e.g. nak(0))
    // can wake the pump again, which must already see this slot as taken.
    const promise = Promise.resolve()
      .then(work)
      .finally(() => {
        this.#running.delete(promise);
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const wake of waiters) wake();
      });
    this.#running.add(promise);
    return promise;
  }

  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}
