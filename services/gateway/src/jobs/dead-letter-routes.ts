import { StrataError } from "@strata/kit";
import { z } from "zod";
import type { AdminRouter } from "../admin/admin-router.js";
import { listJson } from "../admin/tenancy-json.js";
import { deadLetterJson } from "./dead-letter-json.js";
import type { DeadLetterReplay } from "./dead-letter-replay.js";
import type { DeadLetterStore } from "./dead-letter-store.js";
import { pageQuery } from "./list-json.js";

const listSchema = z
  .object({
    ...pageQuery(20, 100),
    kind: z.enum(["run", "batch", "webhook", "usage"]).optional(),
    tenant_id: z.string().min(1).optional(),
    replayed: z.enum(["true", "false"]).optional(),
  })
  .strict();

/**
 * `/admin/v1/dead-letters`: work items given up on after their last delivery (job runs, batch starts,
 * webhooks, usage events the ledger could not write), newest first, and `POST /admin/v1/dead-letters/{id}/replay` to run one again.
 */
export function registerDeadLetterRoutes(
  router: AdminRouter,
  deps: { letters: Pick<DeadLetterStore, "list" | "get">; replay: Pick<DeadLetterReplay, "replay"> },
): void {
  router
    .add("GET", "/dead-letters", async (request) => {
      const query = request.queryAs(listSchema);
      const page = await deps.letters.list({
        limit: query.limit,
        after: query.after,
        kind: query.kind,
        tenantId: query.tenant_id,
        replayed: query.replayed === undefined ? undefined : query.replayed === "true",
      });
      return { body: listJson(page, deadLetterJson) };
    })
    .add("GET", "/dead-letters/:id", async (request) => {
      const letter = await deps.letters.get(request.params.id!);
      if (!letter) return notFound(request.params.id!);
      return { body: deadLetterJson(letter) };
    })
    .add("POST", "/dead-letters/:id/replay", async (request) => ({
      body: deadLetterJson(await deps.replay.replay(request.params.id!)),
    }));
}

function notFound(id: string): never {
  throw new StrataError("not_found", `No dead letter with id '${id}'.`, { param: "id" });
}
