import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

export interface OpsServerOptions {
  host?: string;
  port: number;
  registries: Registry[];
  /** Ready means "send me traffic": dependencies reachable, start-up finished, not shutting down. */
  readiness?: () => boolean | Promise<boolean>;
  logger: Logger;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** The operations port every service has: `/metrics` for Prometheus, `/healthz` and `/readyz` for Kubernetes. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer(async (request, response) => {
    try {
      const path = (request.url ?? "/").split("?")[0];
      if (path === "/metrics") {
        const bodies = await Promise.all(options.registries.map((registry) => registry.metrics()));
        response.writeHead(200, { "content-type": options.registries[0]?.contentType ?? "text/plain" });
        response.end(bodies.join("\n"));
      } else if (path === "/healthz") {
        response.writeHead(200, { "content-type": "text/plain" }).end("ok");
      } else if (path === "/readyz") {
        const ready = options.readiness ? await options.readiness() : true;
        response
          .writeHead(ready ? 200 : 503, { "content-type": "text/plain" })
          .end(ready ? "ready" : "not ready");
      } else {
        response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      }
    } catch (error) {
      options.logger.error({ err: error }, "ops request failed");
      response.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => closeHttpServer(server),
  };
}

/** Stops accepting, lets in-flight requests finish, and drops idle keep-alive sockets so close resolves. */
export function closeHttpServer(server: Server, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), graceMs).unref();
  });
}
