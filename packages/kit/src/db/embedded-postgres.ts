import { once } from "node:events";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { DbLogger } from "./database.js";
import type { EmbeddedWorkerData, EmbeddedWorkerMessage } from "./embedded-postgres-worker.js";

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

const RECOMMENDED_POOL_SIZE = 4;

/**
 * Postgres for the embedded local mode: PGlite (WASM Postgres) with pgvector, served over the
 * Postgres wire protocol on 127.0.0.1 so services use the same `pg` code path as with a real server.
 * It runs on its own worker thread, so SQL work uses the second core instead of the event loop.
 *
 * Caveat: PGlite has one backend. While a connection is inside a transaction every other
 * connection waits, so code must not, inside `transaction()`, wait for a query on another connection.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string | "memory";
  logger?: DbLogger;
}): Promise<EmbeddedPostgres> {
  const worker = startWorker({ dataDir: options.dataDir });
  const [started] = (await Promise.race([
    once(worker, "message"),
    once(worker, "error").then(([error]) => {
      throw error;
    }),
  ])) as [EmbeddedWorkerMessage];
  if (started.type !== "listening") {
    await worker.terminate();
    throw new Error(
      `embedded postgres failed to start: ${started.type === "failed" ? started.message : started.type}`,
    );
  }
  options.logger?.info(
    { url: started.url, dataDir: options.dataDir },
    "embedded postgres (PGlite) listening",
  );
  let closing: Promise<void> | undefined;
  return {
    url: started.url,
    recommendedPoolSize: RECOMMENDED_POOL_SIZE,
    close: () => {
      closing ??= (async () => {
        worker.postMessage("close");
        await once(worker, "message");
        await worker.terminate();
      })();
      return closing;
    },
  };
}

function startWorker(workerData: EmbeddedWorkerData): Worker {
  const compiled = !import.meta.url.endsWith(".ts");
  const source = new URL(`./embedded-postgres-worker.${compiled ? "js" : "ts"}`, import.meta.url);
  if (compiled) return new Worker(source, { workerData });
  // Running from TypeScript sources: the worker registers the TypeScript runtime before loading its
  // module, as `--import @strata/ts-runtime/register` does for the process.
  const runtime = pathToFileURL(createRequire(import.meta.url).resolve("@strata/ts-runtime/register"));
  const bootstrap = `import(${JSON.stringify(runtime.href)}).then(() => import(${JSON.stringify(source.href)}))`;
  return new Worker(bootstrap, { eval: true, workerData });
}
