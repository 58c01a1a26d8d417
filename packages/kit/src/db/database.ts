import pg from "pg";
import type { Logger } from "pino";

export type DbLogger = Pick<Logger, "debug" | "info" | "warn" | "error">;

export interface Database {
  // biome-ignore lint/suspicious/noExplicitAny: pg's own default, so untyped queries read like plain pg
  query<R extends pg.QueryResultRow = any>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Runs `fn` in BEGIN/COMMIT on one connection; rolls back and rethrows when it throws. */
  transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly url: string;
}

export interface ConnectDatabaseOptions {
  url: string;
  /** Pool size. For the embedded server use its `recommendedPoolSize`. */
  maxConnections?: number;
  logger?: DbLogger;
}

/** Opens a pg pool and checks the server answers, so a bad URL fails start-up, not the first request. */
export async function connectDatabase(options: ConnectDatabaseOptions): Promise<Database> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
  // An idle client losing its connection emits 'error' on the pool; unhandled it would crash the process.
  pool.on("error", (error) => options.logger?.warn({ err: error }, "idle database connection failed"));
  try {
    await pool.query("SELECT 1");
  } catch (error) {
    await pool.end();
    throw new Error(`cannot connect to the database at ${redactUrl(options.url)}`, { cause: error });
  }
  return {
    url: options.url,
    query: (text, params) => pool.query(text, params),
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await fn(client);
        await client.query("COMMIT");
        client.release();
        return result;
      } catch (error) {
        try {
          await client.query("ROLLBACK");
          client.release();
        } catch (rollbackError) {
          client.release(rollbackError as Error); // broken connection: drop it from the pool
        }
        throw error;
      }
    },
    close: () => pool.end(),
  };
}

/** The URL without its password, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparseable database url>";
  }
}
