import type { MemoryStream, StoredMessage } from "./memory-stream.js";
import { BUS_DEFAULTS, type ConsumerSpec } from "./types.js";

interface PendingDelivery {
  deliveryCount: number;
  /** When an in-flight delivery's ack-wait runs out (performance.now() clock). */
  ackDeadline: number;
  /** A nak's redelivery delay. */
  timer?: NodeJS.Timeout;
  /** Waiting in the redelivery queue (nak'ed, or its ack-wait ran out). */
  ready: boolean;
  /** Handed to a handler and not yet settled. */
  inFlight: boolean;
}

export type SettleOutcome = "acked" | "terminated" | "exhausted" | "gone";

export interface MemoryDelivery {
  message: StoredMessage;
  deliveryCount: number;
}

/**
 * Durable consumer state, kept by the bus across subscriptions like a JetStream durable: a cursor
 * over the stream plus the deliveries not yet acked. Delivery is pull-style — each subscription
 * takes messages with `next()` only while it has a free handler slot.
 */
export class MemoryConsumer {
  spec: ConsumerSpec;
  readonly #stream: MemoryStream;
  readonly #onSettled: (seq: number, outcome: SettleOutcome, deliveries: number) => void;
  readonly #pending = new Map<number, PendingDelivery>();
  /** Sequences due for redelivery, oldest first; kept apart so next() never scans every pending delivery. */
  readonly #ready = new Set<number>();
  readonly #wakers = new Set<() => void>();
  #cursor = 0; // highest sequence delivered for the first time
  /**
   * One timer for every in-flight delivery's ack-wait, due at the earliest deadline, rather than a
   * timer per delivery: a consumer that batches (the usage ledger holds a second's worth of messages
   * before it acks) would otherwise keep thousands of timers alive, each long enough to be copied
   * by the young-generation GC and promoted.
   */
  #ackTimer: NodeJS.Timeout | undefined;
  #ackTimerAt = Number.POSITIVE_INFINITY;

  constructor(
    spec: ConsumerSpec,
    stream: MemoryStream,
    onSettled: (seq: number, outcome: SettleOutcome, deliveries: number) => void,
  ) {
    this.spec = spec;
    this.#stream = stream;
    this.#onSettled = onSettled;
  }

  /** Called when new work may be available (publish, redelivery due). */
  addWaker(wake: () => void): () => void {
    this.#wakers.add(wake);
    return () => this.#wakers.delete(wake);
  }

  wake(): void {
    for (const wake of this.#wakers) wake();
  }

  /** True when this consumer is finished with `seq` (acked, terminated or given up on). */
  isDoneWith(seq: number): boolean {
    return seq <= this.#cursor && !this.#pending.has(seq);
  }

  next(): MemoryDelivery | undefined {
    for (const seq of this.#ready) {
      this.#ready.delete(seq);
      const pending = this.#pending.get(seq);
      if (!pending?.ready) continue;
      const message = this.#stream.get(seq);
      if (!message) {
        this.#forget(seq, "gone"); // removed by a stream limit meanwhile
        continue;
      }
      return this.#deliver(message, pending);
    }
    const message = this.#stream.nextAfter(this.#cursor, this.spec.filterSubject);
    if (!message) return undefined;
    this.#cursor = message.seq;
    const pending: PendingDelivery = { deliveryCount: 0, ackDeadline: 0, ready: false, inFlight: false };
    this.#pending.set(message.seq, pending);
    return this.#deliver(message, pending);
  }

  ack(seq: number): void {
    this.#forget(seq, "acked");
  }

  term(seq: number): void {
    this.#forget(seq, "terminated");
  }

  nak(seq: number, delayMs = 0): void {
    const pending = this.#pending.get(seq);
    if (!pending) return;
    pending.inFlight = false;
    this.#scheduleRedelivery(seq, pending, delayMs);
  }

  working(seq: number): void {
    const pending = this.#pending.get(seq);
    if (pending?.inFlight) this.#startAckWait(pending);
  }

  close(): void {
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#ackTimerAt = Number.POSITIVE_INFINITY;
    this.#wakers.clear();
  }

  #deliver(message: StoredMessage, pending: PendingDelivery): MemoryDelivery {
    pending.deliveryCount++;
    pending.ready = false;
    pending.inFlight = true;
    this.#startAckWait(pending);
    return { message, deliveryCount: pending.deliveryCount };
  }

  #startAckWait(pending: PendingDelivery): void {
    pending.ackDeadline = performance.now() + (this.spec.ackWaitMs ?? BUS_DEFAULTS.ackWaitMs);
    if (pending.ackDeadline < this.#ackTimerAt) this.#armAckTimer(pending.ackDeadline);
  }

  #armAckTimer(at: number): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimerAt = at;
    this.#ackTimer = setTimeout(() => this.#expireAckWaits(), Math.max(0, at - performance.now()));
    this.#ackTimer.unref();
  }

  /** Redelivers every in-flight delivery whose ack-wait ran out; re-arms for the next deadline. */
  #expireAckWaits(): void {
    this.#ackTimer = undefined;
    this.#ackTimerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const expired: [number, PendingDelivery][] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#pending) {
      const pending = entry[1];
      if (!pending.inFlight) continue;
      if (pending.ackDeadline <= now) expired.push(entry);
      else next = Math.min(next, pending.ackDeadline);
    }
    if (next < this.#ackTimerAt) this.#armAckTimer(next);
    for (const [seq, pending] of expired) {
      pending.inFlight = false;
      this.#scheduleRedelivery(seq, pending, 0);
    }
  }

  #scheduleRedelivery(seq: number, pending: PendingDelivery, delayMs: number): void {
    clearTimeout(pending.timer);
    pending.timer = undefined;
    const { maxDeliver } = this.spec;
    if (maxDeliver !== undefined && maxDeliver > 0 && pending.deliveryCount >= maxDeliver) {
      // Like JetStream: given up on, but the message itself stays in the stream.
      this.#forget(seq, "exhausted");
      return;
    }
    const markReady = () => {
      pending.timer = undefined;
      pending.ready = true;
      this.#ready.add(seq);
      this.wake();
    };
    if (delayMs <= 0) {
      markReady();
      return;
    }
    pending.timer = setTimeout(markReady, delayMs);
    pending.timer.unref();
  }

  #forget(seq: number, outcome: SettleOutcome): void {
    const pending = this.#pending.get(seq);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(seq);
    this.#ready.delete(seq);
    this.#onSettled(seq, outcome, pending.deliveryCount);
  }
}
