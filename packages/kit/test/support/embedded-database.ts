import { afterAll, beforeAll } from "vitest";
import { connectDatabase, type Database } from "../../src/db/database.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../src/db/embedded-postgres.js";

/** What a suite's tests work with; read inside tests, once the suite's beforeAll has run. */
export interface EmbeddedDatabaseSuite {
  /** A pool of the server's recommended size. */
  readonly db: Database;
  /** The server's URL, for tests that open pools of their own (replicas, concurrent clients). */
  readonly url: string;
}

/**
 * Registers a suite's hooks: before its tests an in-memory embedded Postgres and a pool on it; after
 * them, both closed.
 */
export function useEmbeddedDatabase(): EmbeddedDatabaseSuite {
  let embedded: EmbeddedPostgres | undefined;
  let db: Database | undefined;
  beforeAll(async () => {
    embedded = await startEmbeddedPostgres({ dataDir: "memory" });
    db = await connectDatabase({ url: embedded.url, maxConnections: embedded.recommendedPoolSize });
  });
  afterAll(async () => {
    await db?.close();
    await embedded?.close();
  });
  const started = () => {
    if (!embedded || !db) throw new Error("the embedded database has not started: read it inside a test");
    return { embedded, db };
  };
  return {
    get db() {
      return started().db;
    },
    get url() {
      return started().embedded.url;
    },
  };
}
