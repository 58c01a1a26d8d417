/** The bind side shared by PUB and ROUTER: accept TCP connections and run a ZMTP session on each. */
import { type AddressInfo, createServer, type Server } from "node:net";
import { ZmtpConnection, type ZmtpConnectionOptions } from "./connection.js";
import { parseTcpEndpoint } from "./endpoint.js";

export class ZmtpListener {
  readonly connections = new Set<ZmtpConnection>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Binds `tcp://host:port` (port 0 picks a free one); `onReady` sees each handshaken peer. */
  static async bind(
    endpoint: string,
    options: ZmtpConnectionOptions,
    onReady: (connection: ZmtpConnection) => void,
  ): Promise<ZmtpListener> {
    const { host, port } = parseTcpEndpoint(endpoint);
    let listener: ZmtpListener | undefined;
    const server = createServer((socket) => {
      const connection = new ZmtpConnection(socket, options);
      listener?.connections.add(connection);
      connection.once("ready", () => onReady(connection));
      connection.once("close", () => listener?.connections.delete(connection));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    listener = new ZmtpListener(server, (server.address() as AddressInfo).port);
    return listener;
  }

  async close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections) connection.close();
    await stopped;
  }
}
