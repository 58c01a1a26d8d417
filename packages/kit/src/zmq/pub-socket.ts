/**
 * PUB: binds, and sends each message to every subscriber whose subscription is a prefix of the
 * message's first frame. Subscriptions arrive either as ZMTP 3.0 messages (first byte 1 =
 * subscribe, 0 = cancel) or as ZMTP 3.1 SUBSCRIBE / CANCEL commands; libzmq peers use either.
 * A subscriber more than `highWaterMark` messages behind loses new messages (ZeroMQ's PUB drops
 * rather than blocks, so one slow consumer never stalls the publisher or the others).
 */
import type { ZmtpConnection } from "./connection.js";
import { ZmtpListener } from "./listener.js";

export interface PubSocketOptions {
  /** Messages queued per subscriber before new ones are dropped (ZMQ_SNDHWM; vLLM uses 100k). */
  highWaterMark?: number;
}

interface Subscriber {
  /** A multiset: ZeroMQ counts repeated subscriptions, and each CANCEL removes one. */
  prefixes: Buffer[];
}

export class PubSocket {
  private readonly subscribers = new Map<ZmtpConnection, Subscriber>();
  private readonly highWaterMark: number;
  private listener: ZmtpListener | undefined;
  /** Messages not sent to some subscriber because it was over the high-water mark. */
  dropped = 0;

  private constructor(options: PubSocketOptions) {
    this.highWaterMark = options.highWaterMark ?? 1000;
  }

  static async bind(endpoint: string, options: PubSocketOptions = {}): Promise<PubSocket> {
    const pub = new PubSocket(options);
    pub.listener = await ZmtpListener.bind(endpoint, { socketType: "PUB" }, (connection) =>
      pub.attach(connection),
    );
    return pub;
  }

  get port(): number {
    return (this.listener as ZmtpListener).port;
  }

  /** Connected subscribers with at least one subscription. */
  get subscriberCount(): number {
    let count = 0;
    for (const subscriber of this.subscribers.values()) if (subscriber.prefixes.length > 0) count++;
    return count;
  }

  send(frames: readonly Buffer[]): void {
    const topic = frames[0] as Buffer;
    for (const [connection, subscriber] of this.subscribers) {
      if (!subscriber.prefixes.some((prefix) => startsWith(topic, prefix))) continue;
      if (connection.backlog >= this.highWaterMark) {
        this.dropped++;
        continue;
      }
      connection.send(frames);
    }
  }

  async close(): Promise<void> {
    await this.listener?.close();
    this.subscribers.clear();
  }

  private attach(connection: ZmtpConnection): void {
    const subscriber: Subscriber = { prefixes: [] };
    this.subscribers.set(connection, subscriber);
    connection.on("close", () => this.subscribers.delete(connection));
    connection.on("message", (frames) => {
      const body = frames[0];
      if (frames.length !== 1 || !body || body.length === 0) return;
      if (body[0] === 1) subscribe(subscriber, body.subarray(1));
      else if (body[0] === 0) cancel(subscriber, body.subarray(1));
    });
    connection.on("command", (command) => {
      if (command.name === "SUBSCRIBE") subscribe(subscriber, command.data);
      else if (command.name === "CANCEL") cancel(subscriber, command.data);
    });
  }
}

function subscribe(subscriber: Subscriber, prefix: Buffer): void {
  subscriber.prefixes.push(Buffer.from(prefix));
}

function cancel(subscriber: Subscriber, prefix: Buffer): void {
  const index = subscriber.prefixes.findIndex((existing) => existing.equals(prefix));
  if (index >= 0) subscriber.prefixes.splice(index, 1);
}

function startsWith(topic: Buffer, prefix: Buffer): boolean {
  return prefix.length <= topic.length && topic.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
