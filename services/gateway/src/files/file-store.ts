import { type Database, StrataError } from "@strata/kit";
import type { Page } from "../jobs/job-store.js";

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

interface Row {
  id: string;
  tenant_id: string;
  purpose: FilePurpose;
  filename: string;
  bytes: string;
  line_count: number;
  created_at: Date;
  expires_at: Date | null;
}

const columns = "id, tenant_id, purpose, filename, bytes, line_count, created_at, expires_at";

function fromRow(row: Row): StoredFile {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    purpose: row.purpose,
    filename: row.filename,
    bytes: Number(row.bytes),
    lineCount: row.line_count,
    createdAt: row.created_at,
    expiresAt: row.expires_at ?? undefined,
  };
}

type Sql = Pick<Database, "query">;

export interface NewFile {
  id: string;
  tenantId: string;
  purpose: FilePurpose;
  filename: string;
  content: Buffer;
  lineCount: number;
}

/** gateway.files, always scoped to a tenant: another tenant's file id is simply not found. */
export class FileStore {
  constructor(private readonly db: Sql) {}

  /** `sql` lets a batch store its output files in the transaction that finishes it. */
  async insert(file: NewFile, sql: Sql = this.db): Promise<StoredFile> {
    const result = await sql.query<Row>(
      `INSERT INTO gateway.files (id, tenant_id, purpose, filename, bytes, content, line_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${columns}`,
      [
        file.id,
        file.tenantId,
        file.purpose,
        file.filename,
        file.content.length,
        file.content,
        file.lineCount,
      ],
    );
    return fromRow(result.rows[0]!);
  }

  async get(tenantId: string, id: string): Promise<StoredFile> {
    const result = await this.db.query<Row>(
      `SELECT ${columns} FROM gateway.files WHERE id = $1 AND tenant_id = $2`,
      [id, tenantId],
    );
    if (!result.rows[0]) throw notFound(id);
    return fromRow(result.rows[0]);
  }

  async content(tenantId: string, id: string): Promise<{ file: StoredFile; content: Buffer }> {
    const result = await this.db.query<Row & { content: Buffer }>(
      `SELECT ${columns}, content FROM gateway.files WHERE id = $1 AND tenant_id = $2`,
      [id, tenantId],
    );
    const row = result.rows[0];
    if (!row) throw notFound(id);
    return { file: fromRow(row), content: row.content };
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
    const params: unknown[] = [tenantId];
    const conditions = ["tenant_id = $1"];
    if (options.purpose) conditions.push(`purpose = $${params.push(options.purpose)}`);
    const comparison = options.order === "asc" ? ">" : "<";
    if (options.after !== undefined) {
      const cursor = await this.get(tenantId, options.after).catch(() => {
        throw new StrataError("invalid_request", `No file with id '${options.after}' to list after.`, {
          param: "after",
        });
      });
      conditions.push(
        `(created_at, id) ${comparison} ($${params.push(cursor.createdAt)}, $${params.push(cursor.id)})`,
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
    const result = await this.db.query("DELETE FROM gateway.files WHERE id = $1 AND tenant_id = $2", [
      id,
      tenantId,
    ]);
    if (result.rowCount !== 1) throw notFound(id);
  }
}

function notFound(id: string): StrataError {
  return new StrataError("not_found", `No such File object: ${id}`, { param: "id" });
}
