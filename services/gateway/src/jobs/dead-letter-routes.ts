import { StrataError } from "@strata/kit";
import { z } from "zod";
import type { AdminRouter } from "../admin/admin-router.js";
import { listJson } from "../admin/tenancy-json.js";
import { deadLetterJson } from "./dead-letter-json.js";
import { deadLetterKinds } from "./dead-letter-mover.js";
import type { DeadLetterReplay } from "./dead-letter-replay.js";
import type { DeadLetterStore } from "./dead-letter-store.js";
import { pageQuery } from "./list-json.js";

const kind = z.enum(deadLetterKinds);

const listSchema = z
  .object({
    ...pageQuery(20, 100),
    kind: kind.optional(),
    tenant_id: z.string().min(1).optional(),
    replayed: z.enum(["true", "false"]).optional(),
  })
  .strict();

const replayMatchingSchema = z
  .object({
    kind: kind.optional(),
    tenant_id: z.string().min(1).optional(),
    limit: z.number().int().min(1).max(10_000).default(100),
  })
  .strict();

/**
 * `/admin/v1/dead-letters`: work items given up on after their last delivery (job runs, batch starts,
 * webhooks, usage events the ledger could not write), newest first.
 * `POST /admin/v1/dead-letters/{id}/replay` runs one again, and `POST /admin/v1/dead-letters/replay`
 * every one not yet replayed that matches `kind` and `tenant_id`, up to `limit`.
 */
export function registerDeadLetterRoutes(
  router: AdminRouter,
  deps: {
    letters: Pick<DeadLetterStore, "list" | "get">;
    replay: Pick<DeadLetterReplay, "replay" | "replayMatching">;
  },
): void {
  router
    .add("GET", "/dead-letters", { summary: "List dead letters", query: listSchema }, async (request) => {
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
    .add("GET", "/dead-letters/:id", { summary: "Get a dead letter" }, async (request) => {
      const letter = await deps.letters.get(request.params.id!);
      if (!letter) return notFound(request.params.id!);
      return { body: deadLetterJson(letter) };
    })
    .add(
      "POST",
      "/dead-letters/replay",
      { summary: "Replay every matching dead letter", body: replayMatchingSchema },
      async (request) => {
        const body = await request.body(replayMatchingSchema);
        const { replayed, failed } = await deps.replay.replayMatching(
          { kind: body.kind, tenantId: body.tenant_id },
          body.limit,
        );
        return {
          body: {
            object: "dead_letter_replay",
            replayed,
            failed: failed.map(({ id, error }) => ({
              id,
              error: { code: error.code, message: error.message },
            })),
          },
        };
      },
    )
    .add("POST", "/dead-letters/:id/replay", { summary: "Replay a dead letter" }, async (request) => ({
      body: deadLetterJson(await deps.replay.replay(request.params.id!)),
    }));
}

function notFound(id: string): never {
  throw new StrataError("not_found", `No dead letter with id '${id}'.`, { param: "id" });
}
