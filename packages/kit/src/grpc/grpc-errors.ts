import { status as GrpcStatus, Metadata, type ServiceError } from "@grpc/grpc-js";
import { type ErrorCode, errorCodeFromGrpcStatus, errorCodes } from "../errors/error-codes.js";
import { StrataError } from "../errors/strata-error.js";

const codeKey = "strata-error-code";
const paramKey = "strata-error-param";

/** A StrataError as a gRPC status; the exact Strata code and param ride in trailers for Strata clients. */
export function toGrpcError(error: StrataError): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set(codeKey, error.code);
  if (error.param) metadata.set(paramKey, error.param);
  if (error.retryAfterSeconds !== undefined) metadata.set("retry-after", String(error.retryAfterSeconds));
  return { code: error.grpcStatus, details: error.message, metadata };
}

export function fromGrpcError(error: ServiceError): StrataError {
  const sent = error.metadata?.get(codeKey)[0];
  const code =
    typeof sent === "string" && sent in errorCodes
      ? (sent as ErrorCode)
      : errorCodeFromGrpcStatus(error.code);
  const param = error.metadata?.get(paramKey)[0];
  return new StrataError(code, error.details || error.message, {
    cause: error,
    ...(typeof param === "string" ? { param } : {}),
    ...(error.code === GrpcStatus.UNAVAILABLE ? { retryable: true } : {}),
  });
}
