/**
 * The message-bus contract shared by the NATS JetStream implementation (real infrastructure)
 * and the in-process implementation (embedded local mode). Services depend on `Bus` only, so
 * the same code runs in both modes.
 */

export interface BusMessage {
  subject: string;
  data: Uint8Array;
  /**
   * The publisher's object for `data` when the message never left the process (in-process bus and a
   * publisher that passed PublishOptions.decoded); undefined otherwise, so decode `data` then.
   * Read-only: every consumer of the message sees the same object.
   */
  decoded?: unknown;
  headers: Record<string, string>;
  /** 1 on the first delivery, 2 on the first redelivery, ... */
  deliveryCount: number;
  /** The message's sequence number in its stream (what advisories name as `stream_seq`). */
  streamSeq: number;
  ack(): void;
  /** Hand the message back; it is redelivered after `delayMs` (immediately when omitted). */
  nak(delayMs?: number): void;
  /** Never redeliver (unrecoverable input). */
  term(): void;
  /** Still working: resets the ack-wait timer so the message is not redelivered meanwhile. */
  working(): void;
}

/**
 * A message's bytes, or a function that encodes them: NATS calls it at once; the in-process bus only
 * when some consumer reads `data` (one given PublishOptions.decoded may never need the bytes).
 */
export type BusPayload = Uint8Array | (() => Uint8Array);

export interface StreamSpec {
  name: string;
  subjects: string[];
  retention?: "limits" | "workqueue" | "interest";
  maxAgeMs?: number;
  maxMsgs?: number;
  /** Window in which a repeated `msgId` is dropped; JetStream's default is two minutes. */
  duplicateWindowMs?: number;
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubject?: string;
  /** Deliveries before the message is given up on (it stays in the stream). Unlimited when omitted. */
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Delays for `nak` after a failed handler, indexed by delivery count; the last value repeats. */
  backoffMs?: number[];
  /** Handlers running at once in this subscription. */
  concurrency?: number;
}

export interface Subscription {
  /** Drain: stop fetching, wait for in-flight handlers to settle. */
  stop(): Promise<void>;
}

export interface PublishOptions {
  /** De-duplication key: a second publish with the same id inside the stream's window is dropped. */
  msgId?: string;
  headers?: Record<string, string>;
  /**
   * The object `data` encodes. The in-process bus hands it to consumers as `BusMessage.decoded`, so
   * they can skip decoding bytes that never left the process; NATS ignores it. It is shared, never
   * copied: neither side may change it after publishing.
   */
  decoded?: unknown;
}

export type MessageHandler = (message: BusMessage) => Promise<void>;

/** A message as the stream stores it, read back by its sequence number. */
export interface StoredBusMessage {
  stream: string;
  seq: number;
  subject: string;
  data: Uint8Array;
  headers: Record<string, string>;
}

export interface Bus {
  /** Idempotent create-or-update. */
  ensureStream(spec: StreamSpec): Promise<void>;
  /** Durable publish: resolves once the stream stored the message (or recognised a duplicate). */
  publish(subject: string, data: BusPayload, options?: PublishOptions): Promise<void>;
  /**
   * Durable consumer with bounded concurrency. A handler that throws gets its message nak'ed with
   * back-off; one that resolves without settling the message gets it acked.
   */
  consume(spec: ConsumerSpec, handler: MessageHandler): Promise<Subscription>;
  /**
   * Reads one stored message by its stream sequence (e.g. the one a max-deliveries advisory names);
   * undefined when the stream holds no such message (deleted, acked off a work queue, or never stored).
   */
  getMessage(stream: string, seq: number): Promise<StoredBusMessage | undefined>;
  /** Removes one message from a stream; false when it was not there. */
  deleteMessage(stream: string, seq: number): Promise<boolean>;
  /**
   * At-most-once fan-out to every current subscriber (NATS core pub/sub, no stream): for state that
   * is only useful while fresh and can be rebuilt, such as router replicas keeping indexes in step.
   */
  broadcast(subject: string, data: Uint8Array): void;
  /** Receives broadcasts on a subject pattern (wildcards allowed) until stopped. */
  subscribe(subject: string, handler: BroadcastHandler): BroadcastSubscription;
  /** Drain every subscription, then close. */
  close(): Promise<void>;
}

export type BroadcastHandler = (subject: string, data: Uint8Array) => void;

export interface BroadcastSubscription {
  stop(): void;
}

/** Defaults shared by both implementations so they behave alike. */
export const BUS_DEFAULTS = {
  concurrency: 1,
  ackWaitMs: 30_000, // JetStream's own default
  duplicateWindowMs: 120_000, // JetStream's own default
  backoffMs: [1_000, 5_000, 15_000, 60_000],
} as const;
