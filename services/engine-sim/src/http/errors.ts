/**
 * The simulator's error set, mapped in one place to each engine's error body:
 * vLLM: `{"error":{"message","type","param","code"}}` with `code` = the HTTP status
 * (vllm/entrypoints/openai/protocol.py ErrorResponse/ErrorInfo);
 * TGI:  `{"error","error_type"}` (router/src/lib.rs ErrorResponse).
 */
export type ApiErrorKind =
  | "bad_request"
  | "not_found"
  | "validation"
  | "overloaded"
  | "unavailable"
  | "internal";

const VLLM_STATUS: Record<ApiErrorKind, { status: number; type: string }> = {
  bad_request: { status: 400, type: "BadRequestError" },
  validation: { status: 400, type: "BadRequestError" },
  not_found: { status: 404, type: "NotFoundError" },
  overloaded: { status: 429, type: "TooManyRequestsError" },
  unavailable: { status: 503, type: "ServiceUnavailableError" },
  internal: { status: 500, type: "InternalServerError" },
};

const TGI_STATUS: Record<ApiErrorKind, { status: number; type: string }> = {
  bad_request: { status: 400, type: "validation" },
  validation: { status: 422, type: "validation" },
  not_found: { status: 404, type: "not_found" },
  overloaded: { status: 429, type: "overloaded" },
  unavailable: { status: 503, type: "unhealthy" },
  internal: { status: 500, type: "generation" },
};

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly param: string | null = null,
    /** Send the message as text/plain (axum's JSON extractor rejections in TGI). */
    readonly plainText = false,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, param: string | null = null) =>
  new ApiError("bad_request", message, param);
export const validationError = (message: string, param: string | null = null) =>
  new ApiError("validation", message, param);

export function vllmErrorBody(error: ApiError): { status: number; body: unknown } {
  const { status, type } = VLLM_STATUS[error.kind];
  return { status, body: { error: { message: error.message, type, param: error.param, code: status } } };
}

export function tgiErrorBody(error: ApiError): { status: number; body: unknown } {
  const { status, type } = TGI_STATUS[error.kind];
  return { status, body: { error: error.message, error_type: type } };
}
