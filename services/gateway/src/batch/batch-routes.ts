import { StrataError } from "@strata/kit";
import { z } from "zod";
import { listJson } from "../admin/tenancy-json.js";
import { metadataSchema } from "../admin/tenancy-schemas.js";
import { expiresAfterSchema } from "../files/expires-after.js";
import type { AsyncHttpApi } from "../jobs/async-http-api.js";
import { operationFor } from "../jobs/job-request.js";
import { pageQuery } from "../jobs/list-json.js";
import { batchJson } from "./batch-json.js";
import type { BatchRecord } from "./batch-model.js";
import type { BatchService } from "./batch-service.js";

const createSchema = z
  .object({
    input_file_id: z.string().min(1),
    endpoint: z.string().min(1),
    completion_window: z.string().min(1),
    metadata: metadataSchema.nullable().optional(),
    output_expires_after: expiresAfterSchema.optional(),
  })
  .strict();

const listSchema = z.object(pageQuery(20, 100)).strict();

/** OpenAI's Batch API: `/v1/batches` create, list, get and `/v1/batches/{id}/cancel`. */
export function registerBatchRoutes(api: AsyncHttpApi, deps: { batches: BatchService }): void {
  const { batches } = deps;
  const view = async (batch: BatchRecord) =>
    batchJson(batch, (await batches.progress([batch.id])).get(batch.id));
  api
    .add(
      "POST",
      "/v1/batches",
      { summary: "Create a batch (OpenAI Batch API)", body: createSchema },
      async (request) => {
        const input = await request.body(createSchema);
        operationFor(input.endpoint, "endpoint");
        if (input.completion_window !== "24h")
          throw new StrataError(
            "invalid_request",
            `Invalid value for 'completion_window': '${input.completion_window}'; only '24h' is supported.`,
            { param: "completion_window" },
          );
        const batch = await batches.create(request.auth, {
          inputFileId: input.input_file_id,
          endpoint: input.endpoint,
          completionWindow: input.completion_window,
          metadata: input.metadata ?? undefined,
          outputExpiresAfterSeconds: input.output_expires_after?.seconds,
        });
        return { body: await view(batch) };
      },
    )
    .add("GET", "/v1/batches", { summary: "List batches", query: listSchema }, async (request) => {
      const query = request.queryAs(listSchema);
      const page = await batches.list(request.auth, query.limit, query.after);
      const progress = await batches.progress(page.items.map((batch) => batch.id));
      return { body: listJson(page, (batch) => batchJson(batch, progress.get(batch.id))) };
    })
    .add("GET", "/v1/batches/:id", { summary: "Get a batch" }, async (request) => ({
      body: await view(await batches.get(request.auth, request.params.id!)),
    }))
    .add("POST", "/v1/batches/:id/cancel", { summary: "Cancel a batch" }, async (request) => ({
      body: await view(await batches.cancel(request.auth, request.params.id!)),
    }));
}
