import { StrataError } from "@strata/kit";

/** What the admin code needs of a connection: the pool itself, or one client inside a transaction. */
export interface Sql {
  // biome-ignore lint/suspicious/noExplicitAny: rows are typed by the callers of `rows` below
  query(text: string, params?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}

export async function rows<T>(sql: Sql, text: string, params: unknown[] = []): Promise<T[]> {
  return (await sql.query(text, params)).rows as T[];
}

/** Postgres's unique_violation, raised when a name is already taken. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pgError = error as { code?: string; constraint?: string };
  return pgError?.code === "23505" && (constraint === undefined || pgError.constraint === constraint);
}

export function notFound(kind: string, id: string, param?: string): StrataError {
  return new StrataError("not_found", `No ${kind} with id '${id}'.`, param ? { param } : {});
}
