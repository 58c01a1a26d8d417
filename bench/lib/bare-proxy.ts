/**
 * The least any Node proxy must do — read the body, forward it over a pooled undici connection, copy
 * the answer back as it arrives — with none of a gateway's work. Measured in the same run, in a
 * process of its own like the gateways, it is the floor for any Node gateway on this machine: how
 * much of a gateway's cost is being a Node proxy at all, and how much is its own.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";
import { serveChild } from "./child-server.js";

export interface BareProxyStart {
  upstream: string;
}

serveChild<BareProxyStart>(async ({ upstream }) => {
  const agent = new Agent({ connections: 256, keepAliveTimeout: 30_000 });
  const server: Server = createServer(async (incoming, outgoing) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const answer = await request(upstream + incoming.url, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json" },
      body: Buffer.concat(chunks),
    });
    outgoing.writeHead(answer.statusCode, { "content-type": String(answer.headers["content-type"]) });
    for await (const chunk of answer.body) outgoing.write(chunk);
    outgoing.end();
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    ready: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, headers: {} },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await agent.close();
    },
  };
});
