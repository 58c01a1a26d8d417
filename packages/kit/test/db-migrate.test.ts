import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { connectDatabase } from "../src/db/database.js";
import { type Migration, migrate } from "../src/db/migrate.js";
import { useEmbeddedDatabase } from "./support/embedded-database.js";

const migrations: Migration[] = [
  {
    id: "0001_usage_ledger",
    sql: "CREATE TABLE usage_ledger (id bigserial PRIMARY KEY, tokens int NOT NULL);",
  },
  {
    id: "0002_ledger_tenant",
    sql: "ALTER TABLE usage_ledger ADD COLUMN tenant text; CREATE INDEX ON usage_ledger (tenant);",
  },
];
const uniqueSchema = () => `svc_${randomUUID().replaceAll("-", "").slice(0, 12)}`;

describe("migrate (on embedded Postgres)", () => {
  const postgres = useEmbeddedDatabase();

  it("applies migrations once, in id order, into the service's schema", async () => {
    const schema = uniqueSchema();
    const shuffled = [migrations[1]!, migrations[0]!];
    expect(await migrate(postgres.db, schema, shuffled)).toEqual({
      applied: ["0001_usage_ledger", "0002_ledger_tenant"],
    });
    expect(await migrate(postgres.db, schema, shuffled)).toEqual({ applied: [] });
    await postgres.db.query(`INSERT INTO ${schema}.usage_ledger (tokens, tenant) VALUES (12, 'acme')`);
    const recorded = await postgres.db.query(
      `SELECT id, checksum, applied_at FROM ${schema}.schema_migrations ORDER BY id`,
    );
    expect(recorded.rows.map((row) => row.id)).toEqual(["0001_usage_ledger", "0002_ledger_tenant"]);
    expect(recorded.rows[0].checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("applies only the new migration on a later run", async () => {
    const schema = uniqueSchema();
    await migrate(postgres.db, schema, migrations.slice(0, 1));
    expect(await migrate(postgres.db, schema, migrations)).toEqual({ applied: ["0002_ledger_tenant"] });
  });

  it("refuses when an applied migration's SQL changed", async () => {
    const schema = uniqueSchema();
    await migrate(postgres.db, schema, migrations);
    const edited = [{ ...migrations[0]!, sql: `${migrations[0]!.sql} -- edited` }, migrations[1]!];
    await expect(migrate(postgres.db, schema, edited)).rejects.toThrow(
      /0001_usage_ledger changed after it was applied/,
    );
  });

  it("refuses when an applied migration is missing from the list", async () => {
    const schema = uniqueSchema();
    await migrate(postgres.db, schema, migrations);
    await expect(migrate(postgres.db, schema, migrations.slice(0, 1))).rejects.toThrow(
      /0002_ledger_tenant is applied but unknown/,
    );
  });

  it("rolls back a failing migration completely and names it", async () => {
    const schema = uniqueSchema();
    const broken: Migration[] = [
      migrations[0]!,
      { id: "0002_broken", sql: "CREATE TABLE half_done (id int); SELECT * FROM no_such_table;" },
    ];
    await expect(migrate(postgres.db, schema, broken)).rejects.toThrow(
      `migration ${schema}/0002_broken failed`,
    );
    const tables = await postgres.db.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
      [schema],
    );
    expect(tables.rows.map((row) => row.table_name).sort()).toEqual(["schema_migrations", "usage_ledger"]);
    expect(await migrate(postgres.db, schema, migrations)).toEqual({ applied: ["0002_ledger_tenant"] });
  });

  it("applies each migration once when replicas migrate at the same time", async () => {
    const schema = uniqueSchema();
    const replicas = await Promise.all(
      [1, 2, 3].map(() => connectDatabase({ url: postgres.url, maxConnections: 2 })),
    );
    try {
      const results = await Promise.all(replicas.map((replica) => migrate(replica, schema, migrations)));
      expect(results.flatMap((result) => result.applied).sort()).toEqual([
        "0001_usage_ledger",
        "0002_ledger_tenant",
      ]);
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
    }
  });

  it("lets migrations use pgvector types unqualified", async () => {
    const schema = uniqueSchema();
    await migrate(postgres.db, schema, [
      { id: "0001_chunks", sql: "CREATE TABLE chunks (id int, embedding vector(3));" },
    ]);
    await postgres.db.query(`INSERT INTO ${schema}.chunks VALUES (1, '[1,2,3]')`);
    expect((await postgres.db.query(`SELECT count(*)::int AS n FROM ${schema}.chunks`)).rows[0].n).toBe(1);
  });

  it("rejects a schema name that is not a plain identifier", async () => {
    await expect(migrate(postgres.db, 'x"; DROP SCHEMA public; --', migrations)).rejects.toThrow(
      /invalid schema name/,
    );
  });
});
