import { noPositionals, type Subcommand, stringFlag } from "./admin-command.js";
import { json, table } from "./cli-output.js";

interface UsageFigures {
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

interface UsageReportJson {
  group_by: string[];
  from: string;
  to: string;
  data: (UsageFigures & Record<string, string | number>)[];
  totals: UsageFigures;
  has_more: boolean;
}

/** The report's column for each grouping (as `group_by` names it). */
const groupColumns: Record<string, { field: string; header: string }> = {
  tenant: { field: "tenant_id", header: "TENANT" },
  key: { field: "api_key_id", header: "KEY" },
  model: { field: "model", header: "MODEL" },
  day: { field: "day", header: "DAY" },
  provider: { field: "provider", header: "PROVIDER" },
  operation: { field: "operation", header: "OPERATION" },
};

/** Flag → query parameter of `GET /admin/v1/usage`; the gateway validates the values and names the bad one. */
const queryFlags = {
  "group-by": "group_by",
  from: "from",
  to: "to",
  tenant: "tenant_id",
  key: "api_key_id",
  model: "model",
  provider: "provider",
  limit: "limit",
} as const;

function usageTable(report: UsageReportJson): string {
  const groups = report.group_by.map((name) => groupColumns[name] ?? { field: name, header: name });
  const figures = (row: UsageFigures) => [
    String(row.requests),
    String(row.errors),
    String(row.prompt_tokens),
    String(row.completion_tokens),
    row.cost_usd.toFixed(6),
  ];
  const rows = report.data.map((row) => [
    // A request no provider answered (refused, failed, a cache hit) has an empty provider.
    ...groups.map((group) => String(row[group.field] ?? "") || "-"),
    ...figures(row),
  ]);
  rows.push([...groups.map((_, index) => (index === 0 ? "TOTAL" : "")), ...figures(report.totals)]);
  const headers = [
    ...groups.map((group) => group.header),
    "REQUESTS",
    "ERRORS",
    "PROMPT",
    "COMPLETION",
    "COST USD",
  ];
  const more = report.has_more ? "(more rows: raise --limit or narrow the range)\n" : "";
  return `${report.from} to ${report.to}\n${table(headers, rows)}${more}`;
}

/** `strata usage ...` */
export const usageCommands: Record<string, Subcommand> = {
  report: {
    usage:
      "report [--group-by tenant,key,model,day,provider,operation] [--from <date>] [--to <date>] " +
      "[--tenant <id>] [--key <id>] [--model <name>] [--provider <name>] [--limit <n>]",
    summary:
      "Requests, errors, tokens and cost from the usage ledger, grouped as asked (default: this UTC month; " +
      "a date-only --to covers that day).",
    options: Object.fromEntries(Object.keys(queryFlags).map((flag) => [flag, { type: "string" as const }])),
    async run({ client, io, json: asJson, positionals, flags }) {
      noPositionals(positionals);
      const query = new URLSearchParams();
      for (const [flag, parameter] of Object.entries(queryFlags)) {
        const value = stringFlag(flags, flag);
        if (value !== undefined) query.set(parameter, value);
      }
      const suffix = query.size > 0 ? `?${query}` : "";
      const report = await client.request<UsageReportJson>("GET", `/usage${suffix}`);
      io.stdout(asJson ? json(report) : usageTable(report));
    },
  },
};
