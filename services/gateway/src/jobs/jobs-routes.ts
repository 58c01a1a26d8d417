import { StrataError } from "@strata/kit";
import { z } from "zod";
import { idempotencyHeaderDoc, idempotencyKey } from "../admin/idempotency.js";
import { listJson } from "../admin/tenancy-json.js";
import type { AsyncHttpApi } from "./async-http-api.js";
import { jobJson } from "./job-json.js";
import { jobSubmissionSchema, parseJobSubmission } from "./job-request.js";
import type { JobService } from "./job-service.js";
import { pageQuery } from "./list-json.js";

const listSchema = z.object(pageQuery(20, 100)).strict();

/**
 * `/v1/jobs`: POST answers 202 with the queued job at once; GET one or a page (newest first); DELETE
 * cancels. The webhook signing secret is not given out here: any key of the tenant could read it and
 * forge webhooks; it comes from the admin API (`/admin/v1/tenants/{id}/webhook-secret`).
 */
export function registerJobRoutes(api: AsyncHttpApi, deps: { jobs: JobService }): void {
  api
    .add(
      "POST",
      "/v1/jobs",
      {
        summary: "Submit a completion as an async job",
        body: jobSubmissionSchema,
        headers: idempotencyHeaderDoc,
        status: 202,
      },
      async (request) => {
        const submission = parseJobSubmission(await request.jsonBody());
        const key = idempotencyKey(request.request.headers["idempotency-key"]);
        const { job, created } = await deps.jobs.submit(request.auth, submission, key);
        return {
          status: 202,
          body: jobJson(job),
          headers: { location: `/v1/jobs/${job.id}`, ...(created ? {} : { "idempotent-replayed": "true" }) },
        };
      },
    )
    .add("GET", "/v1/jobs", { summary: "List jobs", query: listSchema }, async (request) => {
      const query = request.queryAs(listSchema);
      return { body: listJson(await deps.jobs.list(request.auth, query.limit, query.after), jobJson) };
    })
    .add("GET", "/v1/jobs/webhook-secret", { summary: "The tenant's webhook signing secret" }, async () => {
      throw new StrataError(
        "permission_denied",
        "API keys cannot read the webhook signing secret; an administrator reads or rotates it with the admin API (/admin/v1/tenants/{tenant_id}/webhook-secret).",
      );
    })
    .add("GET", "/v1/jobs/:id", { summary: "Get a job and its result" }, async (request) => ({
      body: jobJson(await deps.jobs.get(request.auth, request.params.id!)),
    }))
    .add("DELETE", "/v1/jobs/:id", { summary: "Cancel a job" }, async (request) => ({
      body: jobJson(await deps.jobs.cancel(request.auth, request.params.id!)),
    }));
}
