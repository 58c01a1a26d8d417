import { createHash } from "node:crypto";
import type { Database } from "@strata/kit";
import { StrataError } from "@strata/kit";
import { canonicalJson } from "../cache/canonical-json.js";
import type { Sql } from "./sql.js";

/** How long a used Idempotency-Key is remembered. */
const retentionSql = "interval '24 hours'";

export interface IdempotentCreate<T> {
  /** What is being created, e.g. "tenants.create" or "keys.rotate:<id>"; keys are unique per scope. */
  scope: string;
  /** The client's Idempotency-Key; without one every call creates. */
  key: string | undefined;
  /** The validated request; a retry must repeat it exactly. */
  request: unknown;
  /** Id for the resource about to be created, recorded with the key in the same transaction. */
  newId: () => string;
  create(sql: Sql, id: string): Promise<T>;
  /** Loads what an earlier attempt created, for a retry. */
  load(sql: Sql, id: string): Promise<T>;
}

/**
 * Runs a create at most once per Idempotency-Key: the key and the new resource's id are inserted in the
 * transaction that creates it, so a concurrent retry waits on the key's row and then finds the result,
 * and a failed attempt leaves no trace. A retry with a different request is refused.
 */
export async function idempotentCreate<T>(
  db: Pick<Database, "transaction">,
  spec: IdempotentCreate<T>,
): Promise<{ value: T; replayed: boolean }> {
  const key = spec.key;
  return db.transaction(async (client) => {
    const sql = client as unknown as Sql;
    const id = spec.newId();
    if (key === undefined) return { value: await spec.create(sql, id), replayed: false };
    const hash = requestHash(spec.request);
    await sql.query(`DELETE FROM gateway.admin_idempotency WHERE created_at < now() - ${retentionSql}`);
    const claimed = await sql.query(
      `INSERT INTO gateway.admin_idempotency (scope, idempotency_key, request_hash, resource_id)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [spec.scope, key, hash, id],
    );
    if (claimed.rowCount === 1) return { value: await spec.create(sql, id), replayed: false };
    const earlier = (
      await sql.query(
        "SELECT request_hash, resource_id FROM gateway.admin_idempotency WHERE scope = $1 AND idempotency_key = $2",
        [spec.scope, key],
      )
    ).rows[0] as { request_hash: Buffer; resource_id: string };
    if (!hash.equals(earlier.request_hash)) throw idempotencyConflict(key);
    return { value: await spec.load(sql, earlier.resource_id), replayed: true };
  });
}

/** The header of the creates that take one, for their route docs. */
export const idempotencyHeaderDoc = {
  "Idempotency-Key":
    "A retry with the same key (1-255 printable ASCII, kept 24 hours) returns the first result.",
} as const;

/** Validates an Idempotency-Key header or field; empty means none. */
export function idempotencyKey(value: string | string[] | undefined): string | undefined {
  const key = Array.isArray(value) ? value[0] : value;
  if (key === undefined || key === "") return undefined;
  if (key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new StrataError(
      "invalid_request",
      "The Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.",
      { param: "Idempotency-Key" },
    );
  }
  return key;
}

/** SHA-256 of a request in canonical JSON, so a retry that reorders fields still counts as the same request. */
export function requestHash(request: unknown): Buffer {
  return createHash("sha256").update(canonicalJson(request)).digest();
}

/** The refusal of an Idempotency-Key reused with a different request. */
export function idempotencyConflict(key: string): StrataError {
  return new StrataError(
    "conflict",
    `The Idempotency-Key '${key}' was already used with a different request; use a new key for a new request.`,
    { param: "Idempotency-Key" },
  );
}
