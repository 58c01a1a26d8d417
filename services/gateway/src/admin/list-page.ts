import { StrataError } from "@strata/kit";
import { rows, type Sql } from "./sql.js";
import type { Page } from "./tenancy-model.js";

export interface ListQuery {
  table: "tenants" | "projects" | "api_keys";
  columns: string;
  /** Equality filters by column; undefined values are left out. */
  filters: Record<string, string | undefined>;
  limit: number;
  /** Id of the last item of the previous page. */
  after?: string | undefined;
}

/** One page in creation order (ties broken by id), continuing after a given item the way OpenAI lists do. */
export async function listPage<Row>(sql: Sql, query: ListQuery): Promise<Page<Row>> {
  const params: unknown[] = [];
  const conditions: string[] = [];
  for (const [column, value] of Object.entries(query.filters)) {
    if (value !== undefined) conditions.push(`${column} = $${params.push(value)}`);
  }
  const table = `gateway.${query.table}`;
  if (query.after !== undefined) {
    const cursor = await rows<{ id: string }>(sql, `SELECT id FROM ${table} WHERE id = $1`, [query.after]);
    if (cursor.length === 0)
      throw new StrataError("invalid_request", `No item with id '${query.after}' to list after.`, {
        param: "after",
      });
    // Compared in SQL: a JS Date would cut created_at to milliseconds and repeat the cursor's own row.
    const after = `$${params.push(query.after)}`;
    conditions.push(`(created_at, id) > (SELECT created_at, id FROM ${table} WHERE id = ${after})`);
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
  const found = await rows<Row>(
    sql,
    `SELECT ${query.columns} FROM ${table} ${where} ORDER BY created_at, id LIMIT $${params.push(query.limit + 1)}`,
    params,
  );
  return { items: found.slice(0, query.limit), hasMore: found.length > query.limit };
}
