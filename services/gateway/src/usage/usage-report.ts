import type { Database } from "@strata/kit";

export const groupings = ["tenant", "key", "model", "day", "provider", "operation"] as const;
export type Grouping = (typeof groupings)[number];

type GroupColumn = "tenant_id" | "api_key_id" | "model" | "day" | "provider" | "operation";

/** Ledger column (or expression) per grouping, and its name in the answer. Fixed text: never user input. */
const groupColumns: Record<Grouping, { sql: string; as: GroupColumn }> = {
  tenant: { sql: "tenant_id", as: "tenant_id" },
  key: { sql: "api_key_id", as: "api_key_id" },
  model: { sql: "model", as: "model" },
  day: { sql: "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')", as: "day" },
  // '' for requests no provider answered (refused, failed before an answer, or a cache hit).
  provider: { sql: "provider", as: "provider" },
  operation: { sql: "operation", as: "operation" },
};

export interface UsageQuery {
  groupBy: Grouping[];
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  tenantId?: string | undefined;
  apiKeyId?: string | undefined;
  model?: string | undefined;
  provider?: string | undefined;
  limit: number;
}

export interface UsageFigures {
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  total_tokens: number;
  cost_usd: number;
}

export interface UsageReport {
  rows: (Partial<Record<GroupColumn, string>> & UsageFigures)[];
  totals: UsageFigures;
  hasMore: boolean;
}

const figures = `count(*)::bigint AS requests,
  count(*) FILTER (WHERE status >= 400)::bigint AS errors,
  coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
  coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
  coalesce(sum(cached_tokens), 0)::bigint AS cached_tokens,
  coalesce(sum(cost_usd), 0)::double precision AS cost_usd`;

/**
 * Spend and tokens from the ledger, grouped as asked. The time range is always bounded, so the scan
 * uses the (started_at), (tenant_id, started_at) or (api_key_id, started_at) index.
 */
export async function usageReport(db: Pick<Database, "query">, query: UsageQuery): Promise<UsageReport> {
  const params: unknown[] = [query.from, query.to];
  const where = ["started_at >= $1", "started_at < $2"];
  if (query.tenantId !== undefined) where.push(`tenant_id = $${params.push(query.tenantId)}`);
  if (query.apiKeyId !== undefined) where.push(`api_key_id = $${params.push(query.apiKeyId)}`);
  if (query.model !== undefined) where.push(`model = $${params.push(query.model)}`);
  if (query.provider !== undefined) where.push(`provider = $${params.push(query.provider)}`);
  const filter = `FROM gateway.usage_ledger WHERE ${where.join(" AND ")}`;
  const groups = query.groupBy.map((grouping) => groupColumns[grouping]);
  const select = [...groups.map((group) => `${group.sql} AS ${group.as}`), figures].join(", ");
  const grouped = groups.length
    ? ` GROUP BY ${groups.map((_, index) => index + 1).join(", ")} ORDER BY ${groups.map((_, index) => index + 1).join(", ")}`
    : "";
  const rowsQuery = db.query(`SELECT ${select} ${filter}${grouped} LIMIT ${query.limit + 1}`, params);
  // Ungrouped, the one row is already the totals.
  const [rows, totals] = await Promise.all([
    rowsQuery,
    groups.length ? db.query(`SELECT ${figures} ${filter}`, params) : rowsQuery,
  ]);
  const hasMore = rows.rows.length > query.limit;
  return {
    rows: rows.rows.slice(0, query.limit).map((row) => ({
      ...Object.fromEntries(groups.map((group) => [group.as, String(row[group.as])])),
      ...figuresOf(row),
    })),
    totals: figuresOf(totals.rows[0]),
    hasMore,
  };
}

function figuresOf(row: Record<string, unknown> | undefined): UsageFigures {
  const prompt = Number(row?.prompt_tokens ?? 0);
  const completion = Number(row?.completion_tokens ?? 0);
  return {
    requests: Number(row?.requests ?? 0),
    errors: Number(row?.errors ?? 0),
    prompt_tokens: prompt,
    completion_tokens: completion,
    cached_tokens: Number(row?.cached_tokens ?? 0),
    total_tokens: prompt + completion,
    cost_usd: Number(row?.cost_usd ?? 0),
  };
}
