import { randomUUID } from "node:crypto";
import type { Database } from "@strata/kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchStore } from "../../src/batch/batch-store.js";
import { FileStore } from "../../src/files/file-store.js";
import { DeadLetterStore } from "../../src/jobs/dead-letter-store.js";
import { JobStore } from "../../src/jobs/job-store.js";
import { type JobsDatabase, startJobsDatabase } from "./jobs-harness.js";

/**
 * Rows made within one millisecond: a cursor taken to a JS Date loses the microseconds and skips or
 * repeats them. Two rows share a timestamp exactly, so the id breaks the tie.
 */
const createdAts = [
  "2024-05-01 12:00:00.123001+00",
  "2024-05-01 12:00:00.123002+00",
  "2024-05-01 12:00:00.123002+00",
  "2024-05-01 12:00:00.123004+00",
  "2024-05-01 12:00:00.123999+00",
];

describe("list pages over rows created in the same millisecond", () => {
  let database: JobsDatabase;
  let db: Database;
  let tenant: string;

  beforeAll(async () => {
    database = await startJobsDatabase("list-pagination");
    db = database.db;
    tenant = `ten_${randomUUID()}`;
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  });

  /** Ids in creation order (created_at, then id); ids run against time so that ties and order differ. */
  async function insert(prefix: string, row: (id: string, createdAt: string) => Promise<unknown>) {
    const ids = createdAts.map((_, index) => `${prefix}_${9 - index}`);
    for (const [index, id] of ids.entries()) await row(id, createdAts[index]!);
    return ids
      .map((id, index) => ({ id, at: createdAts[index]! }))
      .sort((a, b) => (a.at === b.at ? a.id.localeCompare(b.id) : a.at.localeCompare(b.at)))
      .map((row) => row.id);
  }

  /** Every id, one page of one item at a time. */
  async function pageThrough(
    list: (after?: string) => Promise<{ items: { id: string }[]; hasMore: boolean }>,
  ) {
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < createdAts.length + 2; page++) {
      const { items, hasMore } = await list(after);
      seen.push(...items.map((item) => item.id));
      if (!hasMore) return seen;
      after = items.at(-1)!.id;
    }
    throw new Error(`paging did not end: ${seen.join(", ")}`);
  }

  it("pages jobs newest first without loss or repeat", async () => {
    const ids = await insert("job", (id, createdAt) =>
      db.query(
        `INSERT INTO gateway.jobs (id, tenant_id, api_key_id, endpoint, model, request, status, created_at)
         VALUES ($1, $2, 'key', '/v1/chat/completions', 'sim', '{}', 'queued', $3)`,
        [id, tenant, createdAt],
      ),
    );
    const jobs = new JobStore(db);
    expect(await pageThrough((after) => jobs.list(tenant, 1, after))).toEqual(ids.reverse());
  });

  it("pages files in both orders without loss or repeat", async () => {
    const ids = await insert("file", (id, createdAt) =>
      db.query(
        `INSERT INTO gateway.files (id, tenant_id, purpose, filename, bytes, content, created_at)
         VALUES ($1, $2, 'batch', 'input.jsonl', 0, '', $3)`,
        [id, tenant, createdAt],
      ),
    );
    const files = new FileStore(db);
    const list = (order: "asc" | "desc") => (after?: string) =>
      files.list(tenant, { limit: 1, after, order });
    expect(await pageThrough(list("asc"))).toEqual(ids);
    expect(await pageThrough(list("desc"))).toEqual([...ids].reverse());
  });

  it("pages batches newest first without loss or repeat", async () => {
    const ids = await insert("batch", (id, createdAt) =>
      db.query(
        `INSERT INTO gateway.batches (id, tenant_id, api_key_id, endpoint, input_file_id, completion_window,
           status, expires_at, created_at)
         VALUES ($1, $2, 'key', '/v1/chat/completions', 'file-x', '24h', 'in_progress', now(), $3)`,
        [id, tenant, createdAt],
      ),
    );
    const batches = new BatchStore(db);
    expect(await pageThrough((after) => batches.list(tenant, 1, after))).toEqual(ids.reverse());
  });

  it("pages dead letters newest first without loss or repeat", async () => {
    let seq = 0;
    const ids = await insert("dl", (id, createdAt) => {
      seq += 1;
      return db.query(
        `INSERT INTO gateway.dead_letters (id, dead_seq, kind, subject, consumer, deliveries, source_stream,
           source_seq, tenant_id, created_at)
         VALUES ($1, $2, 'run', 'subject', 'jobs-run', 5, 'STRATA_JOBS', $2, $3, $4)`,
        [id, seq, tenant, createdAt],
      );
    });
    const letters = new DeadLetterStore(db);
    expect(await pageThrough((after) => letters.list({ limit: 1, after, tenantId: tenant }))).toEqual(
      ids.reverse(),
    );
  });
});
