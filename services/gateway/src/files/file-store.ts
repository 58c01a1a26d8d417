import { type Database, StrataError } from "@strata/kit";
import type { Page } from "../admin/tenancy-model.js";
import { type RowOf, recordFromRow } from "../jobs/row-record.js";

export type FilePurpose = "batch" | "batch_output";

export interface StoredFile {
  id: string;
  tenantId: string;
  purpose: FilePurpose;
  filename: string;
  bytes: number;
  lineCount: number;
  createdAt: Date;
  expiresAt: Date | undefined;
}

/** `bytes` is a bigint column, which comes back as text. */
type Row = Omit<RowOf<StoredFile>, "bytes"> & { bytes: string };

const columns = "id, tenant_id, purpose, filename, bytes, line_count, created_at, expires_at";

function fromRow(row: Row): StoredFile {
  return { ...recordFromRow(row), bytes: Number(row.bytes) };
}

type Sql = Pick<Database, "query">;

export interface NewFile {
  id: string;
  tenantId: string;
  purpose: FilePurpose;
  filename: string;
  content: Buffer;
  lineCount: number;
  /** Milliseconds from creation until the file expires; undefined keeps it until deleted. */
  expiresAfterMs: number | undefined;
}

/** Past its expires_at a file is gone for the API at once; the retention sweeper deletes the row later. */
const unexpired = (param: number) => `(expires_at IS NULL OR expires_at > $${param})`;

/** gateway.files, always scoped to a tenant: another tenant's file id is simply not found. */
export class FileStore {
  constructor(
    private readonly db: Sql,
    private readonly now: () => number = Date.now,
  ) {}

  /** `sql` lets a batch store its output files in the transaction that finishes it. */
  async insert(file: NewFile, sql: Sql = this.db): Promise<StoredFile> {
    const result = await sql.query<Row>(
      `INSERT INTO gateway.files (id, tenant_id, purpose, filename, bytes, content, line_count, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8 * interval '1 millisecond') RETURNING ${columns}`,
      [
        file.id,
        file.tenantId,
        file.purpose,
        file.filename,
        file.content.length,
        file.content,
        file.lineCount,
        file.expiresAfterMs ?? null,
      ],
    );
    return fromRow(result.rows[0]!);
  }

  async get(tenantId: string, id: string): Promise<StoredFile> {
    const result = await this.db.query<Row>(
      `SELECT ${columns} FROM gateway.files WHERE id = $1 AND tenant_id = $2 AND ${unexpired(3)}`,
      [id, tenantId, this.moment()],
    );
    if (!result.rows[0]) throw notFound(id);
    return fromRow(result.rows[0]);
  }

  async content(tenantId: string, id: string): Promise<{ file: StoredFile; content: Buffer }> {
    const result = await this.db.query<Row & { content: Buffer }>(
      `SELECT ${columns}, content FROM gateway.files WHERE id = $1 AND tenant_id = $2 AND ${unexpired(3)}`,
      [id, tenantId, this.moment()],
    );
    if (!result.rows[0]) throw notFound(id);
    const { content, ...row } = result.rows[0];
    return { file: fromRow(row), content };
  }

  async list(
    tenantId: string,
    options: {
      limit: number;
      after?: string | undefined;
      order: "asc" | "desc";
      purpose?: string | undefined;
    },
  ): Promise<Page<StoredFile>> {
    const params: unknown[] = [tenantId, this.moment()];
    const conditions = ["tenant_id = $1", unexpired(2)];
    if (options.purpose) conditions.push(`purpose = $${params.push(options.purpose)}`);
    const comparison = options.order === "asc" ? ">" : "<";
    if (options.after !== undefined) {
      const cursor = await this.get(tenantId, options.after).catch(() => {
        throw new StrataError("invalid_request", `No file with id '${options.after}' to list after.`, {
          param: "after",
        });
      });
      conditions.push(
        // Compared in SQL: a JS Date would cut created_at to milliseconds and skip or repeat rows.
        `(created_at, id) ${comparison} (SELECT created_at, id FROM gateway.files WHERE id = $${params.push(cursor.id)})`,
      );
    }
    const direction = options.order === "asc" ? "ASC" : "DESC";
    const result = await this.db.query<Row>(
      `SELECT ${columns} FROM gateway.files WHERE ${conditions.join(" AND ")}
       ORDER BY created_at ${direction}, id ${direction} LIMIT $${params.push(options.limit + 1)}`,
      params,
    );
    return {
      items: result.rows.slice(0, options.limit).map(fromRow),
      hasMore: result.rows.length > options.limit,
    };
  }

  async delete(tenantId: string, id: string): Promise<void> {
    const result = await this.db.query(
      `DELETE FROM gateway.files WHERE id = $1 AND tenant_id = $2 AND ${unexpired(3)}`,
      [id, tenantId, this.moment()],
    );
    if (result.rowCount !== 1) throw notFound(id);
  }

  /**
   * Deletes up to `limit` files expired by `now`; returns how many. Rows another replica is deleting
   * are skipped, so replicas sweeping at once split the work instead of waiting on each other.
   */
  async deleteExpired(now: Date, limit: number): Promise<number> {
    const result = await this.db.query(
      `DELETE FROM gateway.files WHERE id IN (
         SELECT id FROM gateway.files WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [now, limit],
    );
    return result.rowCount ?? 0;
  }

  private moment(): Date {
    return new Date(this.now());
  }
}

function notFound(id: string): StrataError {
  return new StrataError("not_found", `No such File object: ${id}`, { param: "id" });
}
