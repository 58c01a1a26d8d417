import { randomUUID } from "node:crypto";

/** A gateway request id: the ledger's idempotency key and the x-request-id header. */
export function newRequestId(): string {
  return `req_${randomUUID().replaceAll("-", "")}`;
}
