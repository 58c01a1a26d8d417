import { status as GrpcStatus } from "@grpc/grpc-js";

/**
 * The closed set of error codes every Strata service uses. Each maps, here and only here, to an HTTP
 * status with an OpenAI-style error type, and to a gRPC status code.
 */
export const errorCodes = {
  invalid_request: {
    http: 400,
    type: "invalid_request_error",
    grpc: GrpcStatus.INVALID_ARGUMENT,
    retryable: false,
  },
  invalid_api_key: {
    http: 401,
    type: "authentication_error",
    grpc: GrpcStatus.UNAUTHENTICATED,
    retryable: false,
  },
  permission_denied: {
    http: 403,
    type: "permission_error",
    grpc: GrpcStatus.PERMISSION_DENIED,
    retryable: false,
  },
  model_not_found: { http: 404, type: "invalid_request_error", grpc: GrpcStatus.NOT_FOUND, retryable: false },
  not_found: { http: 404, type: "invalid_request_error", grpc: GrpcStatus.NOT_FOUND, retryable: false },
  method_not_allowed: {
    http: 405,
    type: "invalid_request_error",
    grpc: GrpcStatus.UNIMPLEMENTED,
    retryable: false,
  },
  conflict: { http: 409, type: "invalid_request_error", grpc: GrpcStatus.ALREADY_EXISTS, retryable: false },
  /** The target's state forbids the operation (e.g. rotating a revoked key). */
  failed_precondition: {
    http: 409,
    type: "invalid_request_error",
    grpc: GrpcStatus.FAILED_PRECONDITION,
    retryable: false,
  },
  payload_too_large: {
    http: 413,
    type: "invalid_request_error",
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    retryable: false,
  },
  unsupported_media_type: {
    http: 415,
    type: "invalid_request_error",
    grpc: GrpcStatus.INVALID_ARGUMENT,
    retryable: false,
  },
  rate_limit_exceeded: {
    http: 429,
    type: "rate_limit_error",
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    retryable: true,
  },
  /**
   * A spend budget is used up. HTTP 429 with type and code `insufficient_quota`, exactly as OpenAI
   * answers an exhausted quota, so OpenAI clients recognise it. Not retryable: waiting a few seconds
   * will not help (the gateway also sends `x-should-retry: false`, which the OpenAI SDKs obey).
   */
  insufficient_quota: {
    http: 429,
    type: "insufficient_quota",
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    retryable: false,
  },
  client_closed: { http: 499, type: "invalid_request_error", grpc: GrpcStatus.CANCELLED, retryable: false },
  internal_error: { http: 500, type: "server_error", grpc: GrpcStatus.INTERNAL, retryable: true },
  upstream_error: { http: 502, type: "server_error", grpc: GrpcStatus.UNAVAILABLE, retryable: true },
  no_healthy_upstream: { http: 503, type: "server_error", grpc: GrpcStatus.UNAVAILABLE, retryable: true },
  /**
   * The model is scaled to zero (or its first replica is still starting) and a replica has been asked
   * for: worth waiting for, unlike no_healthy_upstream. The gateway holds the request a bounded while.
   */
  model_scaling_up: { http: 503, type: "server_error", grpc: GrpcStatus.UNAVAILABLE, retryable: true },
  unavailable: { http: 503, type: "server_error", grpc: GrpcStatus.UNAVAILABLE, retryable: true },
  timeout: { http: 504, type: "server_error", grpc: GrpcStatus.DEADLINE_EXCEEDED, retryable: true },
} as const;

export type ErrorCode = keyof typeof errorCodes;

const codeByGrpcStatus = new Map<number, ErrorCode>([
  [GrpcStatus.INVALID_ARGUMENT, "invalid_request"],
  [GrpcStatus.UNAUTHENTICATED, "invalid_api_key"],
  [GrpcStatus.PERMISSION_DENIED, "permission_denied"],
  [GrpcStatus.NOT_FOUND, "not_found"],
  [GrpcStatus.ALREADY_EXISTS, "conflict"],
  [GrpcStatus.FAILED_PRECONDITION, "failed_precondition"],
  [GrpcStatus.RESOURCE_EXHAUSTED, "rate_limit_exceeded"],
  [GrpcStatus.CANCELLED, "client_closed"],
  [GrpcStatus.DEADLINE_EXCEEDED, "timeout"],
  [GrpcStatus.UNAVAILABLE, "unavailable"],
]);

export function errorCodeFromGrpcStatus(code: number): ErrorCode {
  return codeByGrpcStatus.get(code) ?? "internal_error";
}
