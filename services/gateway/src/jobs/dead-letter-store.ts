import { type Database, StrataError } from "@strata/kit";
import type { Page } from "../admin/tenancy-model.js";
import type { JobError } from "./job-model.js";
import { type RowOf, recordFromRow } from "./row-record.js";

export interface DeadLetter {
  id: string;
  deadSeq: number;
  kind: string;
  subject: string;
  consumer: string;
  deliveries: number;
  sourceStream: string;
  sourceSeq: number;
  jobId: string | undefined;
  batchId: string | undefined;
  tenantId: string | undefined;
  error: JobError | undefined;
  createdAt: Date;
  replayedAt: Date | undefined;
}

/** Stream sequences are bigint columns, which come back as text. */
type Row = Omit<RowOf<DeadLetter>, "dead_seq" | "source_seq"> & { dead_seq: string; source_seq: string };

const columns = `id, dead_seq, kind, subject, consumer, deliveries, source_stream, source_seq, job_id, batch_id,
  tenant_id, error, created_at, replayed_at`;

function fromRow(row: Row): DeadLetter {
  return { ...recordFromRow(row), deadSeq: Number(row.dead_seq), sourceSeq: Number(row.source_seq) };
}

export type NewDeadLetter = Omit<DeadLetter, "createdAt" | "replayedAt">;

/** gateway.dead_letters: the index admins list and replay from; the messages stay in the dead-letter stream. */
export class DeadLetterStore {
  constructor(private readonly db: Pick<Database, "query">) {}

  /** Records a dead letter once per source message; false when it was already recorded. */
  async insert(letter: NewDeadLetter): Promise<boolean> {
    const result = await this.db.query(
      `INSERT INTO gateway.dead_letters (id, dead_seq, kind, subject, consumer, deliveries, source_stream,
         source_seq, job_id, batch_id, tenant_id, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
      [
        letter.id,
        letter.deadSeq,
        letter.kind,
        letter.subject,
        letter.consumer,
        letter.deliveries,
        letter.sourceStream,
        letter.sourceSeq,
        letter.jobId ?? null,
        letter.batchId ?? null,
        letter.tenantId ?? null,
        letter.error ? JSON.stringify(letter.error) : null,
      ],
    );
    return result.rowCount === 1;
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const result = await this.db.query<Row>(`SELECT ${columns} FROM gateway.dead_letters WHERE id = $1`, [
      id,
    ]);
    return result.rows[0] && fromRow(result.rows[0]);
  }

  /** Newest first; optional filters by kind, tenant and whether replayed. */
  async list(options: {
    limit: number;
    after?: string | undefined;
    kind?: string | undefined;
    tenantId?: string | undefined;
    replayed?: boolean | undefined;
  }): Promise<Page<DeadLetter>> {
    const params: unknown[] = [];
    const conditions: string[] = [];
    if (options.kind) conditions.push(`kind = $${params.push(options.kind)}`);
    if (options.tenantId) conditions.push(`tenant_id = $${params.push(options.tenantId)}`);
    if (options.replayed !== undefined)
      conditions.push(`replayed_at IS ${options.replayed ? "NOT " : ""}NULL`);
    if (options.after !== undefined) {
      const cursor = await this.get(options.after);
      if (!cursor)
        throw new StrataError("invalid_request", `No dead letter with id '${options.after}' to list after.`, {
          param: "after",
        });
      // Compared in SQL: a JS Date would cut created_at to milliseconds and skip or repeat rows.
      conditions.push(
        `(created_at, id) < (SELECT created_at, id FROM gateway.dead_letters WHERE id = $${params.push(cursor.id)})`,
      );
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
    const result = await this.db.query<Row>(
      `SELECT ${columns} FROM gateway.dead_letters ${where} ORDER BY created_at DESC, id DESC
       LIMIT $${params.push(options.limit + 1)}`,
      params,
    );
    return {
      items: result.rows.slice(0, options.limit).map(fromRow),
      hasMore: result.rows.length > options.limit,
    };
  }

  /** Marks it replayed; false when another replay got there first. */
  async markReplayed(id: string): Promise<boolean> {
    const result = await this.db.query(
      "UPDATE gateway.dead_letters SET replayed_at = now() WHERE id = $1 AND replayed_at IS NULL",
      [id],
    );
    return result.rowCount === 1;
  }

  /** Deletes up to `limit` dead letters recorded before `before`; returns how many. */
  async deleteCreatedBefore(before: Date, limit: number): Promise<number> {
    const result = await this.db.query(
      `DELETE FROM gateway.dead_letters WHERE id IN (
         SELECT id FROM gateway.dead_letters WHERE created_at < $1 ORDER BY created_at LIMIT $2
         FOR UPDATE SKIP LOCKED)`,
      [before, limit],
    );
    return result.rowCount ?? 0;
  }

  async unmarkReplayed(id: string): Promise<void> {
    await this.db.query("UPDATE gateway.dead_letters SET replayed_at = NULL WHERE id = $1", [id]);
  }
}
