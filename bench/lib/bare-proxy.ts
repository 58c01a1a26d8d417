import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";

/**
 * The least any Node proxy must do — read the body, forward it over a pooled undici connection, copy
 * the answer back — with none of the gateway's work. Measured in the same run, it shows how much of
 * the gateway's cost is being a Node proxy at all and how much is the gateway's own.
 */
export async function startBareProxy(upstream: string): Promise<{ url: string; close(): Promise<void> }> {
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
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await agent.close();
    },
  };
}
