import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import type { DbLogger } from "./database.js";
import { guardWireProtocol } from "./pglite-wire-guard.js";

export interface EmbeddedPostgres {
  /** postgres:// URL that `pg` (and so `connectDatabase`) connects to. */
  url: string;
  /**
   * Pool size per service. PGlite runs one query at a time, so more connections add no
   * throughput; a few let one service's short queries proceed while another holds a connection.
   */
  recommendedPoolSize: number;
  close(): Promise<void>;
}

/**
 * Connections the socket server accepts in total. With the wire guard, 4 pools x 8 connections
 * ran 4,000 mixed queries and transactions without an error (test/db-embedded.test.ts); the limit
 * only bounds file descriptors, as PGlite serialises all work anyway.
 */
const MAX_SOCKET_CONNECTIONS = 64;
const RECOMMENDED_POOL_SIZE = 4;

/**
 * Postgres for the embedded local mode: PGlite (WASM Postgres) with pgvector, served over the
 * Postgres wire protocol on 127.0.0.1 so services use the same `pg` code path as with a real server.
 *
 * Caveat: PGlite has one backend. While a connection is inside a transaction every other
 * connection waits, so code must not, inside `transaction()`, wait for a query on another connection.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string | "memory";
  logger?: DbLogger;
}): Promise<EmbeddedPostgres> {
  if (options.dataDir !== "memory") await mkdir(options.dataDir, { recursive: true });
  const dataDir = options.dataDir === "memory" ? undefined : options.dataDir;
  const db = await PGlite.create(dataDir, { extensions: { vector } });
  await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
  const server = new PGLiteSocketServer({
    db: guardWireProtocol(db),
    host: "127.0.0.1",
    port: 0,
    maxConnections: MAX_SOCKET_CONNECTIONS,
  });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  options.logger?.info({ url, dataDir: options.dataDir }, "embedded postgres (PGlite) listening");
  let closing: Promise<void> | undefined;
  return {
    url,
    recommendedPoolSize: RECOMMENDED_POOL_SIZE,
    close: () => {
      closing ??= (async () => {
        await server.stop();
        await db.close(); // flushes the data directory
      })();
      return closing;
    },
  };
}
