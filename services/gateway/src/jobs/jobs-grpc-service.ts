import type { MessageInitShape } from "@bufbuild/protobuf";
import { type CallContext, type ServiceImpl, StrataError } from "@strata/kit";
import type { gatewayJobsV1 } from "@strata/proto";
import { idempotencyKey } from "../admin/idempotency.js";
import type { AuthContext } from "../auth/auth-context.js";
import { authorizationOf } from "../grpc/authorization.js";
import { chatBody, completionBody } from "../grpc/proto-mapping.js";
import type { JobRecord } from "./job-model.js";
import { parseJobSubmission } from "./job-request.js";
import type { JobService } from "./job-service.js";

export interface JobsGrpcDeps {
  keys: { authenticate(authorization: string | undefined): Promise<AuthContext> };
  jobs: JobService;
}

/** The gRPC face of the jobs API: the same service, keys and errors as `/v1/jobs`. */
export function jobsGrpcService(deps: JobsGrpcDeps): ServiceImpl<typeof gatewayJobsV1.JobsService> {
  const authenticate = (context: CallContext) => deps.keys.authenticate(authorizationOf(context));
  return {
    async submitJob(request, context) {
      const auth = await authenticate(context);
      const submission = parseJobSubmission({
        ...completionOf(request),
        webhook_url: request.webhookUrl || undefined,
        metadata: Object.keys(request.metadata).length > 0 ? request.metadata : undefined,
      });
      const key = idempotencyKey(request.idempotencyKey || undefined);
      const { job } = await deps.jobs.submit(auth, submission, key);
      return { job: jobMessage(job) };
    },
    async getJob(request, context) {
      return { job: jobMessage(await deps.jobs.get(await authenticate(context), request.id)) };
    },
    async cancelJob(request, context) {
      return { job: jobMessage(await deps.jobs.cancel(await authenticate(context), request.id)) };
    },
    async listJobs(request, context) {
      const auth = await authenticate(context);
      const limit = request.limit === 0 ? 20 : request.limit;
      if (limit > 100)
        throw new StrataError("invalid_request", "Invalid value for 'limit': must be between 1 and 100.", {
          param: "limit",
        });
      const page = await deps.jobs.list(auth, limit, request.after || undefined);
      return { data: page.items.map(jobMessage), hasMore: page.hasMore };
    },
  };
}

function completionOf(request: gatewayJobsV1.SubmitJobRequest): Record<string, unknown> {
  const { case: kind, value } = request.request;
  if (kind === "chatCompletion")
    return { ...(chatBody(value, false) as object), endpoint: "/v1/chat/completions" };
  if (kind === "completion")
    return { ...(completionBody(value, false) as object), endpoint: "/v1/completions" };
  throw new StrataError("invalid_request", "Missing required parameter: 'chat_completion' or 'completion'.", {
    param: "request",
  });
}

const seconds = (date: Date | undefined) => BigInt(date ? Math.floor(date.getTime() / 1000) : 0);

export function jobMessage(job: JobRecord): MessageInitShape<typeof gatewayJobsV1.JobSchema> {
  return {
    id: job.id,
    endpoint: job.endpoint,
    model: job.model,
    status: job.status,
    attempts: job.attempts,
    createdAt: seconds(job.createdAt),
    startedAt: seconds(job.startedAt),
    completedAt: seconds(job.completedAt),
    cancelledAt: seconds(job.cancelledAt),
    ...(job.resultStatus === undefined
      ? {}
      : {
          result: {
            statusCode: job.resultStatus,
            requestId: job.requestId ?? "",
            bodyJson: JSON.stringify(job.resultBody ?? null),
          },
        }),
    ...(job.error ? { error: { code: job.error.code, message: job.error.message } } : {}),
    metadata: job.metadata ?? {},
    webhookUrl: job.webhookUrl ?? "",
  };
}
