import type { Database } from "@strata/kit";
import { StrataError } from "@strata/kit";
import { z } from "zod";
import type { AdminRouter } from "../admin/admin-router.js";
import { type Grouping, groupings, usageReport } from "./usage-report.js";

const DAY_MS = 86_400_000;
const dateOnly = /^\d{4}-\d{2}-\d{2}$/;

/** A date ("2025-05-01", UTC) or an ISO 8601 time with its zone ("2025-05-01T12:00:00Z"). */
const instant = z
  .string()
  .refine(
    (text) =>
      (dateOnly.test(text) || /^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}:\d{2})$/.test(text)) &&
      !Number.isNaN(Date.parse(text)),
    "must be a date (YYYY-MM-DD, UTC) or an ISO 8601 time with a zone (e.g. 2025-05-01T00:00:00Z)",
  );

const groupBy = z
  .string()
  .transform((text) =>
    text
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .refine(
    (parts) => parts.every((part) => (groupings as readonly string[]).includes(part)),
    `must be a comma-separated list of ${groupings.join(", ")}`,
  )
  .refine((parts) => new Set(parts).size === parts.length, "must not name a grouping twice")
  .transform((parts) => parts as Grouping[]);

export const usageQuerySchema = z
  .object({
    group_by: groupBy.optional(),
    from: instant.optional(),
    to: instant.optional(),
    tenant_id: z.string().min(1).optional(),
    api_key_id: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    provider: z.string().min(1).optional(),
    limit: z.coerce.number().int("must be a whole number").min(1).max(10_000).optional(),
  })
  .strict();

export interface UsageRoutesDeps {
  db: Pick<Database, "query">;
  now?: () => number;
}

/**
 * `GET /admin/v1/usage?group_by=tenant,key,model,day,provider,operation&from=…&to=…&tenant_id=…`: spend
 * and tokens from the ledger. `from` is inclusive and defaults to the start of the current UTC month; `to` is exclusive
 * and defaults to now, a date-only `to` covering that whole day.
 */
export function registerUsageRoutes(router: Pick<AdminRouter, "add">, deps: UsageRoutesDeps): void {
  const now = deps.now ?? Date.now;
  router.add(
    "GET",
    "/usage",
    { summary: "Spend and tokens grouped by tenant, key, model and day", query: usageQuerySchema },
    async (request) => {
      const query = request.queryAs(usageQuerySchema);
      const current = new Date(now());
      const from = query.from
        ? new Date(Date.parse(query.from))
        : new Date(Date.UTC(current.getUTCFullYear(), current.getUTCMonth(), 1));
      const to = query.to
        ? new Date(Date.parse(query.to) + (dateOnly.test(query.to) ? DAY_MS : 0))
        : new Date(current.getTime() + 1);
      if (from >= to) {
        throw new StrataError(
          "invalid_request",
          `Invalid value for 'to': must be after 'from' (${from.toISOString()}).`,
          {
            param: "to",
          },
        );
      }
      const groupByList = query.group_by ?? [];
      const report = await usageReport(deps.db, {
        groupBy: groupByList,
        from,
        to,
        tenantId: query.tenant_id,
        apiKeyId: query.api_key_id,
        model: query.model,
        provider: query.provider,
        limit: query.limit ?? 1_000,
      });
      return {
        status: 200,
        body: {
          object: "usage_report",
          group_by: groupByList,
          from: from.toISOString(),
          to: to.toISOString(),
          data: report.rows,
          totals: report.totals,
          has_more: report.hasMore,
        },
      };
    },
  );
}
