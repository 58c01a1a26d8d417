/**
 * How much resident memory the embedded Postgres (PGlite with pgvector, on its worker thread) adds to
 * a process: the platform process of `pnpm start` carries it, a gateway in production does not. Run
 * as its own process by the gateway benchmark, which reads the answer from stdout.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectDatabase, silentLogger, startEmbeddedPostgres } from "@strata/kit";

const rssMb = () => process.memoryUsage().rss / 1048576;
const home = await mkdtemp(join(tmpdir(), "strata-bench-pglite-"));
try {
  const before = rssMb();
  const postgres = await startEmbeddedPostgres({ dataDir: join(home, "pgdata") });
  const database = await connectDatabase({ url: postgres.url, logger: silentLogger(), maxConnections: 1 });
  await database.query("SELECT 1");
  console.log(JSON.stringify({ embeddedPostgresMb: rssMb() - before }));
  await database.close();
  await postgres.close();
} finally {
  await rm(home, { recursive: true, force: true });
}
