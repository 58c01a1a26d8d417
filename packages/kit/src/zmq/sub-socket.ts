/**
 * SUB: connects to one PUB endpoint (reconnecting with backoff), announces its subscriptions on
 * every (re)connection, and yields multipart messages as Buffer[]. Subscriptions are sent in the
 * ZMTP 3.0 message form (0x01 + prefix), which ZMTP 3.0 and 3.1 publishers both accept.
 * Messages published while disconnected are lost, as with ZeroMQ: the KV-event layer detects the
 * gap from sequence numbers and asks for a replay.
 */
import { EventEmitter } from "node:events";
import { type DialerOptions, ZmtpDialer } from "./dialer.js";
import { Inbox } from "./inbox.js";

export interface SubSocketOptions extends Omit<DialerOptions, "socketType" | "identity"> {
  /** Messages buffered for a slow reader before new ones are dropped (ZMQ_RCVHWM). */
  highWaterMark?: number;
}

export interface SubSocketEvents {
  connected: [];
  disconnected: [error: Error | undefined];
}

export class SubSocket extends EventEmitter<SubSocketEvents> implements AsyncIterable<Buffer[]> {
  private readonly prefixes: Buffer[] = [];
  private readonly inbox: Inbox<Buffer[]>;
  private readonly dialer: ZmtpDialer;

  constructor(
    readonly endpoint: string,
    options: SubSocketOptions = {},
  ) {
    super();
    this.inbox = new Inbox(options.highWaterMark ?? 1000);
    this.dialer = new ZmtpDialer(
      endpoint,
      { ...options, socketType: "SUB" },
      {
        ready: (connection) => {
          for (const prefix of this.prefixes) connection.send([subscription(1, prefix)]);
          connection.on("message", (frames) => this.inbox.push(frames));
          this.emit("connected");
        },
        disconnected: (error) => this.emit("disconnected", error),
      },
    );
  }

  get connected(): boolean {
    return this.dialer.current?.isReady ?? false;
  }

  /** Messages dropped because the reader was more than highWaterMark behind. */
  get dropped(): number {
    return this.inbox.dropped;
  }

  /** Receive messages whose first frame starts with `prefix` ("" = everything). */
  subscribe(prefix: Buffer | string): void {
    const bytes = Buffer.from(prefix);
    this.prefixes.push(bytes);
    this.dialer.current?.send([subscription(1, bytes)]);
  }

  unsubscribe(prefix: Buffer | string): void {
    const bytes = Buffer.from(prefix);
    const index = this.prefixes.findIndex((existing) => existing.equals(bytes));
    if (index < 0) return;
    this.prefixes.splice(index, 1);
    this.dialer.current?.send([subscription(0, bytes)]);
  }

  receive(): Promise<IteratorResult<Buffer[]>> {
    return this.inbox.next();
  }

  close(): void {
    this.dialer.close();
    this.inbox.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer[]> {
    return this.inbox[Symbol.asyncIterator]();
  }
}

function subscription(kind: 0 | 1, prefix: Buffer): Buffer {
  return Buffer.concat([Buffer.from([kind]), prefix]);
}
