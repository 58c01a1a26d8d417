import { z } from "zod";
import { idempotencyKey } from "../admin/idempotency.js";
import type { AsyncHttpApi } from "./async-http-api.js";
import { jobJson } from "./job-json.js";
import { parseJobSubmission } from "./job-request.js";
import type { JobService } from "./job-service.js";
import { listJson, pageQuery } from "./list-json.js";
import { signatureHeader, tenantWebhookSecret } from "./webhook-signature.js";

const listSchema = z.object(pageQuery(20, 100)).strict();

/**
 * `/v1/jobs`: POST answers 202 with the queued job at once; GET one or a page (newest first); DELETE
 * cancels. `/v1/jobs/webhook-secret` gives the caller's tenant the secret its webhooks are signed with.
 */
export function registerJobRoutes(
  api: AsyncHttpApi,
  deps: { jobs: JobService; signingSecret: string },
): void {
  api
    .add("POST", "/v1/jobs", async (request) => {
      const submission = parseJobSubmission(await request.jsonBody());
      const key = idempotencyKey(request.request.headers["idempotency-key"]);
      const { job, created } = await deps.jobs.submit(request.auth, submission, key);
      return {
        status: 202,
        body: jobJson(job),
        headers: { location: `/v1/jobs/${job.id}`, ...(created ? {} : { "idempotent-replayed": "true" }) },
      };
    })
    .add("GET", "/v1/jobs", async (request) => {
      const query = request.queryAs(listSchema);
      return { body: listJson(await deps.jobs.list(request.auth, query.limit, query.after), jobJson) };
    })
    .add("GET", "/v1/jobs/webhook-secret", async (request) => ({
      body: {
        object: "webhook_secret",
        secret: tenantWebhookSecret(deps.signingSecret, request.auth.tenantId),
        signature_header: signatureHeader,
        algorithm: "hmac-sha256",
      },
    }))
    .add("GET", "/v1/jobs/:id", async (request) => ({
      body: jobJson(await deps.jobs.get(request.auth, request.params.id!)),
    }))
    .add("DELETE", "/v1/jobs/:id", async (request) => ({
      body: jobJson(await deps.jobs.cancel(request.auth, request.params.id!)),
    }));
}
