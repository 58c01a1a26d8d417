import { type ErrorCode, errorCodes } from "./error-codes.js";

export interface StrataErrorOptions {
  /** The request field at fault, reported as OpenAI's `param`. */
  param?: string;
  cause?: unknown;
  /** Overrides the code's default, e.g. an upstream 4xx relayed as-is is not worth retrying. */
  retryable?: boolean;
  /** Seconds the client should wait before trying again (sent as Retry-After). */
  retryAfterSeconds?: number;
}

/** The one error type services throw for anything a caller should see; everything else becomes internal_error. */
export class StrataError extends Error {
  readonly param: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: StrataErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "StrataError";
    this.param = options.param;
    this.retryable = options.retryable ?? errorCodes[code].retryable;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get httpStatus(): number {
    return errorCodes[this.code].http;
  }

  get grpcStatus(): number {
    return errorCodes[this.code].grpc;
  }
}

export function toStrataError(error: unknown): StrataError {
  if (error instanceof StrataError) return error;
  return new StrataError("internal_error", "internal error", { cause: error });
}

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
export function openAiErrorBody(error: StrataError): {
  error: { message: string; type: string; param: string | null; code: string };
} {
  return {
    error: {
      message: error.message,
      type: errorCodes[error.code].type,
      param: error.param ?? null,
      code: error.code,
    },
  };
}
