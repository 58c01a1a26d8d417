/**
 * DEALER: connects to one endpoint (reconnecting), sends messages as-is and yields replies.
 * Messages sent before the session is up wait in a bounded queue, as ZeroMQ queues them.
 * A DEALER that sends ["", body] is wire-identical to a REQ, so it can talk to vLLM's replay
 * ROUTER, which expects [identity, "", start-seq] and answers [identity, "", seq, payload].
 */
import type { ZmtpConnection } from "./connection.js";
import { type DialerOptions, ZmtpDialer } from "./dialer.js";
import { Inbox } from "./inbox.js";

export interface DealerSocketOptions extends Omit<DialerOptions, "socketType"> {
  highWaterMark?: number;
}

export class DealerSocket implements AsyncIterable<Buffer[]> {
  private readonly inbox: Inbox<Buffer[]>;
  private readonly outbox: Buffer[][] = [];
  private readonly dialer: ZmtpDialer;
  private readonly highWaterMark: number;
  private ready: ZmtpConnection | undefined;

  constructor(
    readonly endpoint: string,
    options: DealerSocketOptions = {},
  ) {
    this.highWaterMark = options.highWaterMark ?? 10_000;
    this.inbox = new Inbox(this.highWaterMark);
    this.dialer = new ZmtpDialer(
      endpoint,
      { ...options, socketType: "DEALER" },
      {
        ready: (connection) => {
          this.ready = connection;
          connection.on("message", (frames) => this.inbox.push(frames));
          for (const frames of this.outbox.splice(0)) connection.send(frames);
        },
        disconnected: () => {
          this.ready = undefined;
        },
      },
    );
  }

  send(frames: readonly Buffer[]): void {
    if (this.ready?.isReady) this.ready.send(frames);
    else if (this.outbox.length < this.highWaterMark) this.outbox.push([...frames]);
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
