import type { Database } from "@strata/kit";
import { z } from "zod";
import type { AdminReply, AdminRouter } from "../admin/admin-router.js";
import { notFound } from "../admin/sql.js";
import type { EffectiveLimits, LimitScope, LimitSettings } from "./limit-settings.js";
import { limitFieldNames, limitFields } from "./limit-settings.js";
import type { LimitSettingsStore } from "./limit-settings-store.js";

const count = z
  .number()
  .int("must be a whole number")
  .min(0, "must be 0 (no limit) or more")
  .nullable()
  .optional();
const usd = z.number().min(0, "must be 0 (no limit) or more").finite().nullable().optional();

/**
 * PUT body: the overrides of one tenant or key, replacing what was stored. A field left out or null
 * inherits the configured default; 0 lifts the limit.
 */
export const limitsBodySchema = z
  .object({
    requests_per_minute: count,
    tokens_per_minute: count,
    concurrent_requests: count,
    daily_budget_usd: usd,
    daily_soft_budget_usd: usd,
    monthly_budget_usd: usd,
    monthly_soft_budget_usd: usd,
  })
  .strict();

export interface LimitRoutesDeps {
  store: Pick<LimitSettingsStore, "read" | "write" | "effective">;
  db: Pick<Database, "query">;
}

/** `GET` and `PUT` of `/admin/v1/tenants/{id}/limits` and `/admin/v1/keys/{id}/limits`. */
export function registerLimitRoutes(router: Pick<AdminRouter, "add">, deps: LimitRoutesDeps): void {
  for (const [scope, collection] of [
    ["tenant", "tenants"],
    ["key", "keys"],
  ] as const) {
    router.add(
      "GET",
      `/${collection}/:id/limits`,
      { summary: `A ${scope}'s rate limits and budgets` },
      async (request) => {
        const id = request.params.id!;
        await mustExist(deps.db, scope, id);
        const { overrides, updatedAt } = await deps.store.read(scope, id);
        return limitsReply(scope, id, overrides, deps.store.effective(scope, id), updatedAt);
      },
    );
    router.add(
      "PUT",
      `/${collection}/:id/limits`,
      { summary: `Set a ${scope}'s rate limits and budgets`, body: limitsBodySchema },
      async (request) => {
        const id = request.params.id!;
        const body = await request.body(limitsBodySchema);
        await mustExist(deps.db, scope, id);
        const settings: LimitSettings = {};
        for (const field of limitFields) {
          const value = body[limitFieldNames[field] as keyof typeof body];
          if (value !== null && value !== undefined) settings[field] = value;
        }
        const { updatedAt } = await deps.store.write(scope, id, settings);
        return limitsReply(scope, id, settings, deps.store.effective(scope, id), updatedAt);
      },
    );
  }
}

async function mustExist(db: Pick<Database, "query">, scope: LimitScope, id: string): Promise<void> {
  const table = scope === "tenant" ? "gateway.tenants" : "gateway.api_keys";
  const result = await db.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id]);
  if (result.rows.length === 0) throw notFound(scope === "tenant" ? "tenant" : "API key", id, "id");
}

function limitsReply(
  scope: LimitScope,
  id: string,
  overrides: LimitSettings,
  effective: EffectiveLimits,
  updatedAt: Date | null,
): AdminReply {
  const overridesJson: Record<string, number> = {};
  const effectiveJson: Record<string, number> = {};
  for (const field of limitFields) {
    if (overrides[field] !== undefined) overridesJson[limitFieldNames[field]] = overrides[field];
    effectiveJson[limitFieldNames[field]] = effective[field];
  }
  return {
    status: 200,
    body: {
      object: "limits",
      scope,
      id,
      // What was set for this tenant or key; the rest inherits the gateway's defaults.
      overrides: overridesJson,
      // What applies now, defaults included; 0 means no limit.
      effective: effectiveJson,
      updated_at: updatedAt ? Math.floor(updatedAt.getTime() / 1000) : null,
    },
  };
}
