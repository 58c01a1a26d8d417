import { type Database, openAiErrorBody, StrataError, toStrataError } from "@strata/kit";
import type { CompletionPipeline, CompletionResult } from "../pipeline/completion-pipeline.js";
import { newRequestId } from "../pipeline/request-id.js";
import { usageFrom } from "../pipeline/usage-counts.js";
import { isRetryableStatus } from "../providers/retry-policy.js";
import { jobAuthContext } from "./job-auth.js";
import { type JobError, type JobOutcome, type JobRecord, jobEndpoints } from "./job-model.js";
import { validateJobBody } from "./job-request.js";

/** How one attempt ended: a final outcome, a failure worth retrying, or aborted (cancelled, shutting down). */
export type AttemptResult =
  | { kind: "finished"; outcome: JobOutcome }
  /** `failed` is the outcome to record should this have been the last attempt. */
  | { kind: "retry"; failed: JobOutcome; retryAfterMs: number | undefined }
  | { kind: "aborted" };

export interface JobRunnerDeps {
  /** The completion pipeline synchronous requests go through: auth checks, limits, cache, usage. */
  pipeline: Pick<CompletionPipeline, "execute">;
  db: Pick<Database, "query">;
  attemptTimeoutMs: number;
}

/** Runs one attempt of a job through the completion pipeline and classifies what came back. */
export class JobRunner {
  constructor(private readonly deps: JobRunnerDeps) {}

  async run(job: JobRecord, signal: AbortSignal): Promise<AttemptResult> {
    const requestId = newRequestId();
    try {
      const operation = jobEndpoints[job.endpoint];
      if (!operation) throw new StrataError("invalid_request", `Unsupported endpoint '${job.endpoint}'.`);
      const request = validateJobBody(operation, job.request);
      const auth = await jobAuthContext(this.deps.db, job.apiKeyId);
      const result = await this.deps.pipeline.execute({
        operation,
        request,
        auth,
        requestId,
        signal,
        startedAt: performance.now(),
        timeoutMs: this.deps.attemptTimeoutMs,
        headers: {},
      });
      return answered(result, requestId);
    } catch (error) {
      if (signal.aborted) return { kind: "aborted" };
      const failure = toStrataError(error);
      const resultBody = openAiErrorBody(failure);
      const failed: JobOutcome = {
        status: "failed",
        resultStatus: failure.httpStatus,
        resultBody,
        error: resultBody.error,
        requestId,
      };
      if (!failure.retryable) return { kind: "finished", outcome: failed };
      const retryAfterMs =
        failure.retryAfterSeconds === undefined ? undefined : failure.retryAfterSeconds * 1000;
      return { kind: "retry", failed, retryAfterMs };
    }
  }
}

function answered(result: CompletionResult, requestId: string): AttemptResult {
  if (result.kind !== "json") throw new StrataError("internal_error", "A job got a streamed answer.");
  const body = parseBody(result.body);
  if (result.status === 200)
    return {
      kind: "finished",
      outcome: {
        status: "succeeded",
        resultStatus: 200,
        resultBody: body,
        requestId,
        usage: usageFrom(body),
      },
    };
  const failed: JobOutcome = {
    status: "failed",
    resultStatus: result.status,
    resultBody: body,
    error: errorFromBody(result.status, body),
    requestId,
  };
  if (isRetryableStatus(result.status))
    return { kind: "retry", failed, retryAfterMs: retryAfterMs(result.headers) };
  return { kind: "finished", outcome: failed };
}

/** An upstream's error answer as a JobError (OpenAI's `{error: {message, type, code}}` when it has one). */
function errorFromBody(status: number, body: unknown): JobError {
  const error = (body as { error?: { message?: unknown; type?: unknown; code?: unknown } } | null)?.error;
  const message =
    typeof error?.message === "string" ? error.message : `The upstream answered HTTP ${status}.`;
  return {
    code: typeof error?.code === "string" ? error.code : `http_${status}`,
    message,
    ...(typeof error?.type === "string" ? { type: error.type } : {}),
  };
}

function retryAfterMs(headers: Record<string, string>): number | undefined {
  const seconds = Number(headers["retry-after"]);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

function parseBody(body: Buffer): unknown {
  const text = body.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return { text };
  }
}
