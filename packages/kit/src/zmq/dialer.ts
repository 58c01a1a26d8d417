/**
 * The connect side shared by SUB and DEALER: one endpoint, reconnected with exponential backoff
 * (ZeroMQ's ZMQ_RECONNECT_IVL / ZMQ_RECONNECT_IVL_MAX) whenever the session ends, until closed.
 * Like ZeroMQ, connecting before the peer has bound is fine: the dialer keeps trying.
 */
import { connect } from "node:net";
import { ZmtpConnection, type ZmtpConnectionOptions } from "./connection.js";
import { parseTcpEndpoint } from "./endpoint.js";

export interface DialerOptions extends ZmtpConnectionOptions {
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export interface DialerHandlers {
  ready(connection: ZmtpConnection): void;
  disconnected?(error: Error | undefined): void;
}

export class ZmtpDialer {
  current: ZmtpConnection | undefined;
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly host: string;
  private readonly port: number;

  constructor(
    endpoint: string,
    private readonly options: DialerOptions,
    private readonly handlers: DialerHandlers,
  ) {
    ({ host: this.host, port: this.port } = parseTcpEndpoint(endpoint));
    if (this.host === "0.0.0.0") throw new Error(`cannot connect to a wildcard endpoint "${endpoint}"`);
    this.dial();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.current?.close();
  }

  private dial(): void {
    if (this.closed) return;
    const socket = connect({ host: this.host, port: this.port });
    const connection = new ZmtpConnection(socket, this.options);
    this.current = connection;
    let wasReady = false;
    connection.once("ready", () => {
      wasReady = true;
      this.attempt = 0;
      this.handlers.ready(connection);
    });
    connection.once("close", (error) => {
      if (this.current === connection) this.current = undefined;
      if (wasReady) this.handlers.disconnected?.(error);
      this.scheduleRedial();
    });
  }

  private scheduleRedial(): void {
    if (this.closed) return;
    const min = this.options.reconnectMinMs ?? 100;
    const max = this.options.reconnectMaxMs ?? 5_000;
    const delay = Math.min(max, min * 2 ** this.attempt);
    this.attempt++;
    this.timer = setTimeout(() => this.dial(), delay);
    this.timer.unref?.();
  }
}
