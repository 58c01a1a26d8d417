/**
 * ROUTER: binds; each received message is delivered as [peer identity, ...frames], and a message
 * sent as [identity, ...frames] goes to that peer (silently dropped if it is gone, as ZeroMQ
 * does). Peers without an Identity property get a generated 5-byte one (0x00 + u32), libzmq's form.
 */
import { randomBytes } from "node:crypto";
import type { ZmtpConnection } from "./connection.js";
import { Inbox } from "./inbox.js";
import { ZmtpListener } from "./listener.js";

export class RouterSocket implements AsyncIterable<Buffer[]> {
  private readonly peers = new Map<string, ZmtpConnection>();
  private readonly inbox = new Inbox<Buffer[]>(10_000);
  private listener: ZmtpListener | undefined;

  static async bind(endpoint: string): Promise<RouterSocket> {
    const router = new RouterSocket();
    router.listener = await ZmtpListener.bind(endpoint, { socketType: "ROUTER" }, (connection) =>
      router.attach(connection),
    );
    return router;
  }

  get port(): number {
    return (this.listener as ZmtpListener).port;
  }

  send(frames: readonly Buffer[]): void {
    const [identity, ...rest] = frames;
    if (!identity || rest.length === 0) throw new Error("ROUTER send needs [identity, ...frames]");
    this.peers.get(identity.toString("hex"))?.send(rest);
  }

  receive(): Promise<IteratorResult<Buffer[]>> {
    return this.inbox.next();
  }

  async close(): Promise<void> {
    this.inbox.close();
    await this.listener?.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer[]> {
    return this.inbox[Symbol.asyncIterator]();
  }

  private attach(connection: ZmtpConnection): void {
    let identity = connection.peerIdentity;
    if (!identity || this.peers.has(identity.toString("hex"))) {
      identity = Buffer.concat([Buffer.from([0]), randomBytes(4)]);
    }
    const key = identity.toString("hex");
    const routed = identity;
    this.peers.set(key, connection);
    connection.on("message", (frames) => this.inbox.push([routed, ...frames]));
    connection.on("close", () => {
      if (this.peers.get(key) === connection) this.peers.delete(key);
    });
  }
}
