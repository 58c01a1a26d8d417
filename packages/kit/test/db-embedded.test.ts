import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectDatabase } from "../src/db/database.js";
import { startEmbeddedPostgres } from "../src/db/embedded-postgres.js";
import { useEmbeddedDatabase } from "./support/embedded-database.js";

describe("embedded Postgres (PGlite over the wire protocol)", () => {
  const postgres = useEmbeddedDatabase();

  it("serves pgvector: nearest neighbours by cosine distance", async () => {
    await postgres.db.query("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))");
    await postgres.db.query("INSERT INTO items VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0.9,0.1,0]')");
    const nearest = await postgres.db.query<{ id: number }>(
      "SELECT id FROM items ORDER BY embedding <=> $1::vector LIMIT 2",
      ["[1,0,0]"],
    );
    expect(nearest.rows.map((row) => row.id)).toEqual([1, 3]);
  });

  it("rolls back a transaction that throws", async () => {
    await postgres.db.query("CREATE TABLE ledger (id int PRIMARY KEY)");
    await expect(
      postgres.db.transaction(async (client) => {
        await client.query("INSERT INTO ledger VALUES (1)");
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect((await postgres.db.query("SELECT count(*)::int AS n FROM ledger")).rows[0].n).toBe(0);
  });

  // Without the wire guard, pools of 3+ connections fail hundreds of these queries (see
  // pglite-wire-guard.ts): another connection's Parse replaces the unnamed statement mid-query.
  it("keeps parameterised queries and transactions of many connections apart", async () => {
    const pools = await Promise.all(
      [1, 2, 3, 4].map(() => connectDatabase({ url: postgres.url, maxConnections: 8 })),
    );
    try {
      await postgres.db.query("CREATE TABLE concurrent (id int PRIMARY KEY, value text)");
      const failures: string[] = [];
      await Promise.all(
        Array.from({ length: 1_200 }, async (_, index) => {
          const pool = pools[index % pools.length]!;
          try {
            if (index % 3 === 0) {
              const result = await pool.query("SELECT $1::int AS a, $2::text AS b", [index, `s${index}`]);
              if (result.rows[0]?.a !== index || result.rows[0]?.b !== `s${index}`)
                failures.push(`wrong ${index}`);
            } else if (index % 3 === 1) {
              const result = await pool.query("SELECT $1::text AS only", [`x${index}`]);
              if (result.rows[0]?.only !== `x${index}`) failures.push(`wrong ${index}`);
            } else {
              await pool.transaction(async (client) => {
                await client.query("INSERT INTO concurrent VALUES ($1, $2)", [index, `v${index}`]);
                const row = await client.query("SELECT value FROM concurrent WHERE id = $1", [index]);
                if (row.rows[0]?.value !== `v${index}`) failures.push(`wrong ${index}`);
              });
            }
          } catch (error) {
            failures.push(`${index}: ${(error as Error).message}`);
          }
        }),
      );
      expect(failures.slice(0, 5)).toEqual([]);
      expect((await postgres.db.query("SELECT count(*)::int AS n FROM concurrent")).rows[0].n).toBe(400);
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
    }
  });
});

describe("embedded Postgres on disk", () => {
  it("keeps data across restarts in the data directory", async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), "strata-pglite-")), "pgdata");
    try {
      const first = await startEmbeddedPostgres({ dataDir });
      const writer = await connectDatabase({ url: first.url });
      await writer.query("CREATE TABLE kept (note text)");
      await writer.query("INSERT INTO kept VALUES ($1)", ["survives"]);
      await writer.close();
      await first.close();

      const second = await startEmbeddedPostgres({ dataDir });
      const reader = await connectDatabase({ url: second.url });
      const rows = await reader.query("SELECT note FROM kept");
      await reader.close();
      await second.close();
      expect(rows.rows).toEqual([{ note: "survives" }]);
    } finally {
      await rm(join(dataDir, ".."), { recursive: true, force: true });
    }
  });

  it("fails fast with the URL (password redacted) when the database is unreachable", async () => {
    await expect(connectDatabase({ url: "postgres://app:secret@127.0.0.1:1/db" })).rejects.toThrow(
      /127\.0\.0\.1:1.*\*\*\*|\*\*\*.*127\.0\.0\.1:1/,
    );
  });
});
