import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectDatabase, type Database } from "../src/db/database.js";
import { migrate } from "../src/db/migrate.js";
import {
  findPostgresBinDir,
  type NativePostgresHandle,
  startNativePostgres,
} from "../src/testing/native-postgres.js";

const binDir = await findPostgresBinDir();
if (!binDir) {
  console.warn("db-native tests skipped: no initdb/postgres found (Debian: apt-get install -y postgresql)");
}

describe.skipIf(!binDir)("native Postgres", () => {
  let server: NativePostgresHandle;
  let db: Database;
  beforeAll(async () => {
    server = await startNativePostgres();
    db = await connectDatabase({ url: server.url });
  });
  afterAll(async () => {
    await db?.close();
    await server?.stop();
  });

  it("runs migrations and transactions through the same code path as PGlite", async () => {
    const schema = `svc_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const migrations = [{ id: "0001_ledger", sql: "CREATE TABLE ledger (id int PRIMARY KEY, note text);" }];
    expect(await migrate(db, schema, migrations)).toEqual({ applied: ["0001_ledger"] });
    expect(await migrate(db, schema, migrations)).toEqual({ applied: [] });
    await db.transaction(async (client) => {
      await client.query(`INSERT INTO ${schema}.ledger VALUES ($1, $2)`, [1, "native"]);
    });
    const version = await db.query<{ server_version_num: string }>("SHOW server_version_num");
    expect(Number(version.rows[0]!.server_version_num)).toBeGreaterThan(120_000);
    expect((await db.query(`SELECT note FROM ${schema}.ledger`)).rows).toEqual([{ note: "native" }]);
  });

  it("serves pgvector when the extension is installed", async (context) => {
    const available = await db.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'");
    if (available.rowCount === 0) {
      context.skip(
        "pgvector not installed for this Postgres (Debian: apt-get install -y postgresql-15-pgvector)",
      );
    }
    await db.query("CREATE EXTENSION IF NOT EXISTS vector");
    const nearest = await db.query(
      "SELECT v FROM (VALUES ('[1,0,0]'::vector), ('[0,1,0]'::vector)) AS t(v) ORDER BY v <=> '[0.9,0.1,0]' LIMIT 1",
    );
    expect(String(nearest.rows[0].v)).toBe("[1,0,0]");
  });
});
