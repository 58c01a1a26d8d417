// Runs PGlite and its socket server on a worker thread: PGlite executes SQL synchronously in
// WebAssembly, and on the main thread every ledger insert would stall the services' request handling.
import { mkdir } from "node:fs/promises";
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { guardWireProtocol } from "./pglite-wire-guard.js";

/**
 * Connections the socket server accepts in total. With the wire guard, 4 pools x 8 connections
 * ran 4,000 mixed queries and transactions without an error (test/db-embedded.test.ts); the limit
 * only bounds file descriptors, as PGlite serialises all work anyway.
 */
const MAX_SOCKET_CONNECTIONS = 64;

export interface EmbeddedWorkerData {
  dataDir: string | "memory";
}

export type EmbeddedWorkerMessage =
  | { type: "listening"; url: string }
  | { type: "failed"; message: string }
  | { type: "closed" };

const port = parentPort!;
const { dataDir } = workerData as EmbeddedWorkerData;

try {
  if (dataDir !== "memory") await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir === "memory" ? undefined : dataDir, { extensions: { vector } });
  await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
  const server = new PGLiteSocketServer({
    db: guardWireProtocol(db),
    host: "127.0.0.1",
    port: 0,
    maxConnections: MAX_SOCKET_CONNECTIONS,
  });
  await server.start();
  port.on("message", async (message: string) => {
    if (message !== "close") return;
    await server.stop();
    await db.close(); // flushes the data directory
    port.postMessage({ type: "closed" } satisfies EmbeddedWorkerMessage);
  });
  port.postMessage({
    type: "listening",
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
  } satisfies EmbeddedWorkerMessage);
} catch (error) {
  port.postMessage({ type: "failed", message: (error as Error).message } satisfies EmbeddedWorkerMessage);
}
