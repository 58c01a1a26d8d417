import { randomFillSync } from "node:crypto";

/** Random bytes drawn in bulk: one system call and one allocation per 256 ids rather than per id. */
const pool = Buffer.alloc(16 * 256);
let next = pool.length;

/** A gateway request id: the ledger's idempotency key and the x-request-id header (128 random bits). */
export function newRequestId(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const id = `req_${pool.toString("hex", next, next + 16)}`;
  next += 16;
  return id;
}
