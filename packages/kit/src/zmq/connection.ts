/**
 * One ZMTP 3.x session over a TCP socket, NULL mechanism: exchange greetings, exchange READY
 * (Socket-Type, optional Identity), then deliver messages and commands. Both sides send their
 * greeting and READY without waiting (NULL allows it), so the handshake costs one round trip.
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import {
  COMPATIBLE_PEERS,
  type Command,
  encodeCommand,
  encodeGreeting,
  encodeMessage,
  encodeProperties,
  FrameDecoder,
  GREETING_LENGTH,
  type PeerGreeting,
  parseGreeting,
  parseProperties,
  type SocketType,
} from "./frame.js";

export interface ZmtpConnectionOptions {
  socketType: SocketType;
  /** Sent as the Identity property (DEALER/REQ), so a ROUTER can address us by a stable name. */
  identity?: Buffer;
  /** A handshake not done within this many milliseconds fails the connection. */
  handshakeTimeoutMs?: number;
}

export interface ZmtpConnectionEvents {
  ready: [];
  message: [frames: Buffer[]];
  command: [command: Command];
  close: [error: Error | undefined];
}

export class ZmtpConnection extends EventEmitter<ZmtpConnectionEvents> {
  peerGreeting: PeerGreeting | undefined;
  peerSocketType: string | undefined;
  peerIdentity: Buffer | undefined;
  private greetingBytes: Buffer = Buffer.alloc(0);
  private readonly decoder = new FrameDecoder();
  private handshaken = false;
  private closed = false;
  private readonly handshakeTimer: NodeJS.Timeout;
  /** Messages handed to the kernel buffer since it last drained: the basis of the high-water mark. */
  private pendingMessages = 0;

  constructor(
    readonly socket: Socket,
    private readonly options: ZmtpConnectionOptions,
  ) {
    super();
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(
      () => this.fail(new Error("ZMTP handshake timed out")),
      options.handshakeTimeoutMs ?? 10_000,
    );
    socket.on("data", (chunk: Buffer) => {
      try {
        this.onData(chunk);
      } catch (error) {
        this.fail(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on("drain", () => {
      this.pendingMessages = 0;
    });
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(undefined));
    const properties: Record<string, Buffer | string> = { "Socket-Type": options.socketType };
    if (options.identity) properties.Identity = options.identity;
    socket.write(Buffer.concat([encodeGreeting(), encodeCommand("READY", encodeProperties(properties))]));
  }

  get isReady(): boolean {
    return this.handshaken && !this.closed;
  }

  /** Messages queued behind a full kernel buffer (0 when the peer keeps up). */
  get backlog(): number {
    return this.socket.writableNeedDrain ? this.pendingMessages : 0;
  }

  send(frames: readonly Buffer[]): void {
    if (!this.isReady) return;
    this.pendingMessages++;
    this.socket.write(encodeMessage(frames));
  }

  sendCommand(name: string, data?: Buffer): void {
    if (!this.isReady) return;
    this.socket.write(encodeCommand(name, data));
  }

  close(): void {
    this.socket.destroy();
    this.fail(undefined);
  }

  private onData(chunk: Buffer): void {
    let rest = chunk;
    if (!this.peerGreeting) {
      const needed = GREETING_LENGTH - this.greetingBytes.length;
      this.greetingBytes = Buffer.concat([this.greetingBytes, rest.subarray(0, needed)]);
      rest = rest.subarray(needed);
      if (this.greetingBytes.length < GREETING_LENGTH) return;
      this.peerGreeting = parseGreeting(this.greetingBytes);
      if (this.peerGreeting.mechanism !== "NULL") {
        throw new Error(`ZMTP mechanism ${this.peerGreeting.mechanism} not supported (NULL only)`);
      }
    }
    if (rest.length === 0) return;
    for (const unit of this.decoder.push(rest)) {
      if (this.closed) return;
      if (unit.kind === "command") this.onCommand(unit.command);
      else if (!this.handshaken) throw new Error("ZMTP message before READY");
      else this.emit("message", unit.frames);
    }
  }

  private onCommand(command: Command): void {
    if (command.name === "READY" && !this.handshaken) {
      const properties = parseProperties(command.data);
      this.peerSocketType = properties.get("socket-type")?.toString("ascii");
      const allowed = COMPATIBLE_PEERS[this.options.socketType] as readonly string[];
      if (!this.peerSocketType || !allowed.includes(this.peerSocketType)) {
        throw new Error(
          `ZMTP peer socket type ${this.peerSocketType} cannot talk to ${this.options.socketType}`,
        );
      }
      const identity = properties.get("identity");
      this.peerIdentity = identity && identity.length > 0 ? identity : undefined;
      this.handshaken = true;
      clearTimeout(this.handshakeTimer);
      this.emit("ready");
      return;
    }
    if (command.name === "ERROR") {
      throw new Error(`ZMTP peer error: ${command.data.subarray(1).toString("utf8")}`);
    }
    if (command.name === "PING") {
      // 37/ZMTP heartbeat: answer with PONG carrying the ping's context (after its 2-byte TTL).
      this.sendCommand("PONG", command.data.subarray(2));
      return;
    }
    this.emit("command", command);
  }

  private fail(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    if (!this.socket.destroyed) this.socket.destroy();
    this.emit("close", error);
  }
}
