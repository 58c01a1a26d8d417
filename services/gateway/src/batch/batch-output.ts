import type { JobError, JobStatus } from "../jobs/job-model.js";

/** One line of a batch as finished (a row of gateway.jobs). */
export interface FinishedLine {
  jobId: string;
  customId: string;
  status: JobStatus;
  resultStatus: number | undefined;
  resultBody: unknown;
  error: JobError | undefined;
  requestId: string | undefined;
}

/** The output file (successful requests) and the error file (the rest), as JSONL. */
export interface BatchOutput {
  output: string[];
  errors: string[];
}

/**
 * OpenAI's request output objects: `{id, custom_id, response: {status_code, request_id, body}, error}`.
 * A request that got an answer (even an error answer, e.g. a 400 for a bad body) carries it in
 * `response`; one that never got one (cancelled, expired) has `response: null` and an `error`.
 */
export function batchOutput(lines: readonly FinishedLine[]): BatchOutput {
  const output: string[] = [];
  const errors: string[] = [];
  for (const line of lines) {
    const id = `batch_req_${line.jobId.replace(/^job_/, "")}`;
    if (line.resultStatus !== undefined) {
      const entry = {
        id,
        custom_id: line.customId,
        response: {
          status_code: line.resultStatus,
          request_id: line.requestId ?? null,
          body: line.resultBody ?? null,
        },
        error: null,
      };
      (line.status === "succeeded" ? output : errors).push(JSON.stringify(entry));
      continue;
    }
    const error = line.error ?? { code: "batch_failed", message: "The request did not run." };
    errors.push(
      JSON.stringify({
        id,
        custom_id: line.customId,
        response: null,
        error: { code: error.code, message: error.message },
      }),
    );
  }
  return { output, errors };
}
