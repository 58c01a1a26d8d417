import { StrataError } from "@strata/kit";
import { z } from "zod";
import { validateInput } from "../admin/admin-validation.js";
import { metadataSchema } from "../admin/tenancy-schemas.js";
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  type Operation,
  validateRequest,
} from "../openai/request-schemas.js";
import { jobEndpoints } from "./job-model.js";
import { webhookUrlSchema } from "./webhook-url.js";

/** A validated job: which endpoint to run, its completion body, and the job's own settings. */
export interface JobSubmission {
  endpoint: string;
  operation: Operation;
  request: ChatCompletionRequest | CompletionRequest;
  webhookUrl: string | undefined;
  metadata: Record<string, string> | undefined;
}

const jobFieldsSchema = z.object({
  endpoint: z.string({ error: "must be a string" }),
  webhook_url: webhookUrlSchema.nullable().optional(),
  metadata: metadataSchema.nullable().optional(),
});

/** POST /v1/jobs's body as the OpenAPI document shows it: the job's fields beside the completion's. */
export const jobSubmissionSchema = jobFieldsSchema
  .extend({ endpoint: z.enum(Object.keys(jobEndpoints) as [string, ...string[]]) })
  .loose()
  .describe("The completion request's own fields (model, messages or prompt, ...) with the job's.");

/**
 * POST /v1/jobs takes the completion body itself plus the job's fields: `endpoint` (which API the body
 * is for), and optionally `webhook_url` and `metadata` (these belong to the job, not to the body).
 */
export function parseJobSubmission(body: unknown): JobSubmission {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new StrataError("invalid_request", "The request body must be a JSON object.");
  const { endpoint, webhook_url, metadata, ...completion } = body as Record<string, unknown>;
  const fields = validateInput(jobFieldsSchema, { endpoint, webhook_url, metadata });
  const operation = operationFor(fields.endpoint, "endpoint");
  return {
    endpoint: fields.endpoint,
    operation,
    request: validateJobBody(operation, completion),
    webhookUrl: fields.webhook_url ?? undefined,
    metadata: fields.metadata ?? undefined,
  };
}

/** The pipeline operation for an endpoint; anything else is a 400 listing what is supported. */
export function operationFor(endpoint: string, param: string): Operation {
  const operation = jobEndpoints[endpoint];
  if (operation) return operation;
  throw new StrataError(
    "invalid_request",
    `Unsupported endpoint '${endpoint}'. Jobs and batches support ${Object.keys(jobEndpoints)
      .map((name) => `'${name}'`)
      .join(" and ")}.`,
    { param },
  );
}

/** Validates a completion body the way the synchronous endpoint would; a job's answer is never streamed. */
export function validateJobBody(
  operation: Operation,
  body: unknown,
): ChatCompletionRequest | CompletionRequest {
  const request = validateRequest(operation, body);
  if (request.stream) {
    throw new StrataError(
      "invalid_request",
      "Invalid value for 'stream': jobs answer with a complete body, so 'stream' must be false or absent.",
      { param: "stream" },
    );
  }
  return request;
}
