import { createHash } from "node:crypto";
import type pg from "pg";
import type { Database } from "./database.js";

export interface Migration {
  /** Sortable id, e.g. "0001_usage_ledger"; applied in ascending order. */
  id: string;
  sql: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Forward-only migrations into a service's own schema, recorded in <schema>.schema_migrations.
 *
 * Each migration runs in its own transaction under a transaction-scoped advisory lock keyed by
 * the schema, so replicas starting together apply each migration once: the second one waits,
 * then sees it recorded. The migration's SQL runs with search_path = <schema>, public, so it can
 * name its tables unqualified and still use extension types such as pgvector's `vector`.
 *
 * Refuses (throws) when history was rewritten: an applied migration's SQL changed (checksum) or an
 * applied id is missing from the list (e.g. an older build started against a newer database).
 */
export async function migrate(
  db: Database,
  schema: string,
  migrations: Migration[],
): Promise<{ applied: string[] }> {
  if (!IDENTIFIER.test(schema)) throw new Error(`invalid schema name "${schema}" (use lower_snake_case)`);
  const ordered = [...migrations].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ids = new Set(ordered.map((migration) => migration.id));
  if (ids.size !== ordered.length) throw new Error(`duplicate migration ids for schema ${schema}`);

  const applied: string[] = [];
  for (;;) {
    const next = await db.transaction(async (client) => {
      await lockAndPrepare(client, schema);
      const recorded = await client.query<{ id: string; checksum: string }>(
        `SELECT id, checksum FROM "${schema}".schema_migrations`,
      );
      verifyHistory(schema, ordered, recorded.rows);
      const done = new Set(recorded.rows.map((row) => row.id));
      const migration = ordered.find((candidate) => !done.has(candidate.id));
      if (!migration) return undefined;
      await client.query(`SET LOCAL search_path TO "${schema}", public`);
      try {
        await client.query(migration.sql);
      } catch (error) {
        throw new Error(`migration ${schema}/${migration.id} failed`, { cause: error });
      }
      await client.query(`INSERT INTO "${schema}".schema_migrations (id, checksum) VALUES ($1, $2)`, [
        migration.id,
        checksum(migration.sql),
      ]);
      return migration.id;
    });
    if (next === undefined) return { applied };
    applied.push(next);
  }
}

export function checksum(sql: string): string {
  return createHash("sha256").update(sql).digest("hex");
}

async function lockAndPrepare(client: pg.PoolClient, schema: string): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`strata.migrate.${schema}`]);
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS "${schema}".schema_migrations (
       id text PRIMARY KEY,
       checksum text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
}

function verifyHistory(
  schema: string,
  migrations: readonly Migration[],
  recorded: readonly { id: string; checksum: string }[],
): void {
  const byId = new Map(migrations.map((migration) => [migration.id, migration]));
  for (const row of recorded) {
    const migration = byId.get(row.id);
    if (!migration) {
      throw new Error(
        `schema ${schema}: migration ${row.id} is applied but unknown to this build (was it deleted or renamed?)`,
      );
    }
    if (checksum(migration.sql) !== row.checksum) {
      throw new Error(
        `schema ${schema}: migration ${row.id} changed after it was applied; add a new migration instead`,
      );
    }
  }
}
