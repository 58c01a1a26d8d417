import { randomUUID } from "node:crypto";
import { type ConsumerAdvisoryKind, consumerAdvisoryPayload, consumerAdvisorySubject } from "./advisories.js";
import { type BusLogger, InFlight, runHandler } from "./handler-runner.js";
import { MemoryConsumer, type MemoryDelivery, type SettleOutcome } from "./memory-consumer.js";
import { MemoryStream, type StoredMessage } from "./memory-stream.js";
import { matchSubject, subjectsOverlap } from "./subject.js";
import { injectTraceHeaders } from "./trace-headers.js";
import {
  type BroadcastHandler,
  type BroadcastSubscription,
  BUS_DEFAULTS,
  type Bus,
  type BusMessage,
  type BusPayload,
  type ConsumerSpec,
  type MessageHandler,
  type PublishOptions,
  type StoredBusMessage,
  type StreamSpec,
  type Subscription,
} from "./types.js";

export interface MemoryBusOptions {
  logger?: BusLogger;
  /** Clock for duplicate windows and max-age; timers (ack-wait, nak delay) use real time. */
  now?: () => number;
}

/**
 * In-process bus for the embedded local mode. It keeps JetStream's semantics — streams over
 * subject patterns, durable pull consumers, redelivery, msgId de-duplication, retention — so that
 * services behave the same as on NATS. State lives in memory: a restart of the process loses it.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): MemoryBus {
  return new InProcessBus(options);
}

/** The in-process bus, plus what `nats stream info` would show (for diagnostics and tests). */
export interface MemoryBus extends Bus {
  streamInfo(name: string): { messages: number } | undefined;
}

/** Header JetStream uses for the de-duplication id; set here too so consumers see the same headers. */
const MSG_ID_HEADER = "Nats-Msg-Id";

class InProcessBus implements MemoryBus {
  readonly #options: MemoryBusOptions;
  readonly #streams = new Map<string, MemoryStream>();
  readonly #consumers = new Map<string, Map<string, MemoryConsumer>>(); // stream -> durable -> state
  readonly #subscriptions = new Set<Subscription>();
  readonly #broadcastSubscribers = new Set<{ pattern: string; handler: BroadcastHandler }>();
  /** Which stream captures a subject (null: none), remembered: publishing matches no patterns twice. */
  readonly #captured = new Map<string, MemoryStream | null>();
  #closed = false;

  constructor(options: MemoryBusOptions) {
    this.#options = options;
  }

  async ensureStream(spec: StreamSpec): Promise<void> {
    this.#assertOpen();
    if (spec.subjects.length === 0) throw new Error(`stream ${spec.name} needs at least one subject`);
    for (const other of this.#streams.values()) {
      if (other.spec.name !== spec.name && other.overlaps(spec.subjects)) {
        throw new Error(`stream ${spec.name}: subjects overlap with stream ${other.spec.name}`);
      }
    }
    this.#captured.clear();
    const existing = this.#streams.get(spec.name);
    if (!existing) {
      this.#streams.set(spec.name, new MemoryStream(spec, this.#options.now ?? Date.now));
      this.#consumers.set(spec.name, new Map());
      return;
    }
    const retention = (stream: StreamSpec) => stream.retention ?? "limits";
    if (retention(existing.spec) !== retention(spec)) {
      throw new Error(`stream ${spec.name}: retention cannot change (JetStream refuses it too)`);
    }
    existing.spec = spec;
  }

  async publish(subject: string, data: BusPayload, options: PublishOptions = {}): Promise<void> {
    this.#assertOpen();
    const stream = this.#capturing(subject);
    if (!stream) throw new Error(`no stream captures subject "${subject}"`);
    const headers = injectTraceHeaders(options.headers ?? {});
    if (options.msgId !== undefined) headers[MSG_ID_HEADER] = options.msgId;
    // Copy so a caller reusing its buffer cannot change a stored message (an encoder makes fresh bytes).
    const payload = typeof data === "function" ? data : data.slice();
    const stored = stream.store(subject, payload, headers, options.msgId, options.decoded);
    if (!stored) return;
    for (const consumer of this.#consumers.get(stream.spec.name)!.values()) consumer.wake();
  }

  broadcast(subject: string, data: Uint8Array): void {
    this.#assertOpen();
    for (const subscriber of this.#broadcastSubscribers) {
      // Delivered on a later tick, as from a network, so a handler never runs inside the publisher.
      if (matchSubject(subscriber.pattern, subject))
        queueMicrotask(() => subscriber.handler(subject, data.slice()));
    }
  }

  subscribe(pattern: string, handler: BroadcastHandler): BroadcastSubscription {
    this.#assertOpen();
    const subscriber = { pattern, handler };
    this.#broadcastSubscribers.add(subscriber);
    return { stop: () => this.#broadcastSubscribers.delete(subscriber) };
  }

  async consume(spec: ConsumerSpec, handler: MessageHandler): Promise<Subscription> {
    this.#assertOpen();
    const consumer = this.#consumerFor(spec);
    const inFlight = new InFlight(spec.concurrency ?? BUS_DEFAULTS.concurrency);
    const backoffMs = spec.backoffMs ?? BUS_DEFAULTS.backoffMs;
    let stopped = false;
    const pump = (): void => {
      while (!stopped && inFlight.free > 0) {
        const delivery = consumer.next();
        if (!delivery) return;
        const message = toBusMessage(consumer, delivery);
        void inFlight.run(() => runHandler(message, handler, backoffMs, this.#options.logger)).then(pump);
      }
    };
    const removeWaker = consumer.addWaker(pump);
    const subscription: Subscription = {
      stop: async () => {
        stopped = true;
        removeWaker();
        this.#subscriptions.delete(subscription);
        await inFlight.drain();
      },
    };
    this.#subscriptions.add(subscription);
    pump();
    return subscription;
  }

  async getMessage(stream: string, seq: number): Promise<StoredBusMessage | undefined> {
    this.#assertOpen();
    const found = this.#stream(stream).get(seq);
    if (!found) return undefined;
    return { stream, seq, subject: found.subject, data: found.data.slice(), headers: { ...found.headers } };
  }

  async deleteMessage(stream: string, seq: number): Promise<boolean> {
    this.#assertOpen();
    return this.#stream(stream).delete(seq);
  }

  streamInfo(name: string): { messages: number } | undefined {
    const stream = this.#streams.get(name);
    return stream && { messages: stream.size };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.stop()));
    for (const consumers of this.#consumers.values())
      for (const consumer of consumers.values()) consumer.close();
  }

  #consumerFor(spec: ConsumerSpec): MemoryConsumer {
    const stream = this.#streams.get(spec.stream);
    const consumers = this.#consumers.get(spec.stream);
    if (!stream || !consumers) throw new Error(`stream ${spec.stream} not found`);
    const existing = consumers.get(spec.durable);
    if (existing) {
      existing.spec = spec;
      return existing;
    }
    if (stream.spec.retention === "workqueue") {
      // JetStream: a work queue hands each subject to exactly one consumer.
      const filter = spec.filterSubject ?? ">";
      for (const other of consumers.values()) {
        if (subjectsOverlap(filter, other.spec.filterSubject ?? ">")) {
          throw new Error(
            `work-queue stream ${spec.stream}: consumer ${spec.durable} overlaps consumer ${other.spec.durable}`,
          );
        }
      }
    }
    const consumer = new MemoryConsumer(spec, stream, (seq, outcome, deliveries) => {
      this.#applyRetention(stream, seq, outcome);
      if (outcome === "exhausted" || outcome === "terminated") {
        const kind = outcome === "exhausted" ? "MAX_DELIVERIES" : "MSG_TERMINATED";
        this.#advise(kind, stream.spec.name, consumer.spec.durable, seq, deliveries);
      }
    });
    consumers.set(spec.durable, consumer);
    return consumer;
  }

  #applyRetention(stream: MemoryStream, seq: number, outcome: SettleOutcome): void {
    if (outcome !== "acked" && outcome !== "terminated") return; // exhausted messages stay, as in JetStream
    const retention = stream.spec.retention ?? "limits";
    if (retention === "workqueue") stream.delete(seq);
    if (retention === "interest") {
      for (const consumer of this.#consumers.get(stream.spec.name)!.values())
        if (!consumer.isDoneWith(seq)) return;
      stream.delete(seq);
    }
  }

  /**
   * Publishes a consumer advisory the way the JetStream server does: on core subjects, so broadcast
   * subscribers get it and a stream capturing the subject stores it (none capturing is no error).
   */
  #advise(
    kind: ConsumerAdvisoryKind,
    stream: string,
    consumer: string,
    seq: number,
    deliveries: number,
  ): void {
    if (this.#closed) return;
    const subject = consumerAdvisorySubject(kind, stream, consumer);
    const now = (this.#options.now ?? Date.now)();
    const data = consumerAdvisoryPayload(kind, {
      stream,
      consumer,
      streamSeq: seq,
      deliveries,
      id: randomUUID(),
      now,
    });
    const capturing = this.#capturing(subject);
    if (capturing?.store(subject, data, {})) {
      for (const waiting of this.#consumers.get(capturing.spec.name)!.values()) waiting.wake();
    }
    this.broadcast(subject, data);
  }

  #capturing(subject: string): MemoryStream | undefined {
    let stream = this.#captured.get(subject);
    if (stream === undefined) {
      stream = null;
      for (const candidate of this.#streams.values()) {
        if (!candidate.captures(subject)) continue;
        stream = candidate;
        break;
      }
      // Subjects carry ids (tenants...): the memo is bounded, and cheap to rebuild.
      if (this.#captured.size >= 10_000) this.#captured.clear();
      this.#captured.set(subject, stream);
    }
    return stream ?? undefined;
  }

  #stream(name: string): MemoryStream {
    const stream = this.#streams.get(name);
    if (!stream) throw new Error(`stream ${name} not found`);
    return stream;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("bus is closed");
  }
}

function toBusMessage(consumer: MemoryConsumer, delivery: MemoryDelivery): BusMessage {
  return new MemoryBusMessage(consumer, delivery);
}

/** A delivery as its handler sees it; settling goes back to the consumer by sequence number. */
class MemoryBusMessage implements BusMessage {
  readonly subject: string;
  readonly decoded: unknown;
  readonly headers: Record<string, string>;
  readonly deliveryCount: number;
  readonly streamSeq: number;

  private readonly message: StoredMessage;

  constructor(
    private readonly consumer: MemoryConsumer,
    delivery: MemoryDelivery,
  ) {
    const { message } = delivery;
    this.message = message;
    this.subject = message.subject;
    this.decoded = message.decoded;
    // A copy: a handler changing its headers must not change the stored message.
    this.headers = { ...message.headers };
    this.deliveryCount = delivery.deliveryCount;
    this.streamSeq = message.seq;
  }

  /** Encoded on first read when the publisher left that for later. */
  get data(): Uint8Array {
    return this.message.data;
  }

  ack(): void {
    this.consumer.ack(this.streamSeq);
  }

  nak(delayMs?: number): void {
    this.consumer.nak(this.streamSeq, delayMs);
  }

  term(): void {
    this.consumer.term(this.streamSeq);
  }

  working(): void {
    this.consumer.working(this.streamSeq);
  }
}
