import { randomUUID } from "node:crypto";
import { connectDatabase, type Database, Registry, silentLogger } from "@strata/kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchStore } from "../../src/batch/batch-store.js";
import { FileStore } from "../../src/files/file-store.js";
import { DeadLetterStore } from "../../src/jobs/dead-letter-store.js";
import { JobStore } from "../../src/jobs/job-store.js";
import { jobsConfigSchema } from "../../src/jobs/jobs-config.js";
import { createJobsMetrics } from "../../src/jobs/jobs-metrics.js";
import { RetentionSweeper } from "../../src/jobs/retention-sweeper.js";
import { type JobsDatabase, startJobsDatabase } from "./jobs-harness.js";

const DAY = 86_400_000;

describe("retention sweeper", () => {
  let database: JobsDatabase;
  let db: Database;
  /** Each test's rows carry its own tenant, so tests see only what they made. */
  let tenant: string;

  beforeAll(async () => {
    database = await startJobsDatabase("retention");
    db = database.db;
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  });

  const ago = (ms: number) => new Date(Date.now() - ms);

  async function job(
    status: string,
    completedAgoMs: number | undefined,
    batch?: { id: string; line: number },
  ) {
    const id = `job_${randomUUID()}`;
    await db.query(
      `INSERT INTO gateway.jobs (id, tenant_id, api_key_id, endpoint, model, request, status, result_body,
         completed_at, created_at, batch_id, custom_id, line)
       VALUES ($1, $2, 'key', '/v1/chat/completions', 'sim', '{}', $3, '{"answer": 1}', $4, $5, $6, $7, $8)`,
      [
        id,
        tenant,
        status,
        completedAgoMs === undefined ? null : ago(completedAgoMs),
        ago((completedAgoMs ?? 0) + 60_000),
        batch?.id ?? null,
        batch ? `line-${batch.line}` : null,
        batch?.line ?? null,
      ],
    );
    return id;
  }

  async function batch(status: string, finishedAgoMs: number | undefined, lines: number) {
    const id = `batch_${randomUUID()}`;
    await db.query(
      `INSERT INTO gateway.batches (id, tenant_id, api_key_id, endpoint, input_file_id, completion_window, status,
         expires_at, created_at, completed_at, failed_at)
       VALUES ($1, $2, 'key', '/v1/chat/completions', 'file-x', '24h', $3, now(), $4, $5, $6)`,
      [
        id,
        tenant,
        status,
        ago((finishedAgoMs ?? 0) + DAY),
        status === "completed" && finishedAgoMs !== undefined ? ago(finishedAgoMs) : null,
        status === "failed" && finishedAgoMs !== undefined ? ago(finishedAgoMs) : null,
      ],
    );
    for (let line = 1; line <= lines; line++)
      await job(status === "in_progress" ? "queued" : "succeeded", finishedAgoMs, { id, line });
    return id;
  }

  async function deadLetter(createdAgoMs: number) {
    const id = `dl_${randomUUID()}`;
    const seq = Math.floor(Math.random() * 1e12);
    await db.query(
      `INSERT INTO gateway.dead_letters (id, dead_seq, kind, subject, consumer, deliveries, source_stream,
         source_seq, tenant_id, created_at)
       VALUES ($1, $2, 'run', 'subject', 'jobs-run', 5, 'STRATA_JOBS', $2, $3, $4)`,
      [id, seq, tenant, ago(createdAgoMs)],
    );
    return id;
  }

  const exists = async (table: string, id: string) =>
    (await db.query(`SELECT 1 FROM gateway.${table} WHERE id = $1`, [id])).rowCount === 1;

  function sweeper(
    options: { retention?: Record<string, unknown>; now?: () => number; sql?: Database } = {},
  ) {
    const registry = new Registry();
    const metrics = createJobsMetrics(registry);
    const sql = options.sql ?? db;
    const sweep = new RetentionSweeper({
      jobs: new JobStore(sql),
      batches: new BatchStore(sql),
      files: new FileStore(sql),
      letters: new DeadLetterStore(sql),
      retention: jobsConfigSchema.parse({ retention: options.retention ?? {} }).retention,
      metrics,
      logger: silentLogger(),
      now: options.now,
    });
    const deleted = async () =>
      Object.fromEntries(
        (await metrics.retentionDeleted.get()).values.map((value) => [value.labels.kind, value.value]),
      );
    return { sweep, deleted };
  }

  it("deletes finished jobs, batches with their lines, and dead letters past their retention, nothing else", async () => {
    tenant = `ten_${randomUUID()}`;
    const oldJobs = [
      await job("succeeded", 31 * DAY),
      await job("failed", 40 * DAY),
      await job("cancelled", 31 * DAY),
    ];
    const recentJob = await job("succeeded", 29 * DAY);
    const unfinished = [await job("queued", undefined), await job("running", undefined)];
    const oldBatch = await batch("completed", 31 * DAY, 3);
    const oldFailedBatch = await batch("failed", 35 * DAY, 0);
    const recentBatch = await batch("completed", 2 * DAY, 2);
    const openBatch = await batch("in_progress", undefined, 2);
    const oldLetter = await deadLetter(31 * DAY);
    const recentLetter = await deadLetter(DAY);

    const { sweep, deleted } = sweeper();
    const counts = await sweep.sweep();

    expect(counts).toMatchObject({ jobs: 3, batch_lines: 3, batches: 2, dead_letters: 1 });
    expect(await deleted()).toMatchObject({ jobs: 3, batch_lines: 3, batches: 2, dead_letters: 1 });
    for (const id of oldJobs) expect(await exists("jobs", id)).toBe(false);
    for (const id of [recentJob, ...unfinished]) expect(await exists("jobs", id)).toBe(true);
    expect(await exists("batches", oldBatch)).toBe(false);
    expect(await exists("batches", oldFailedBatch)).toBe(false);
    expect(await exists("batches", recentBatch)).toBe(true);
    expect(await exists("batches", openBatch)).toBe(true);
    const lines = await db.query("SELECT batch_id FROM gateway.jobs WHERE batch_id = ANY($1)", [
      [oldBatch, recentBatch, openBatch],
    ]);
    expect(lines.rows.map((row) => row.batch_id).sort()).toEqual(
      [openBatch, openBatch, recentBatch, recentBatch].sort(),
    );
    expect(await exists("dead_letters", oldLetter)).toBe(false);
    expect(await exists("dead_letters", recentLetter)).toBe(true);

    // A second sweep finds nothing more: deleting is idempotent.
    expect(await sweep.sweep()).toMatchObject({ jobs: 0, batch_lines: 0, batches: 0, dead_letters: 0 });
  });

  it("judges age by its clock, keeps everything with a retention of 0, and stops when asked", async () => {
    tenant = `ten_${randomUUID()}`;
    const finished = await job("succeeded", DAY);
    const letter = await deadLetter(DAY);
    const keepForever = { finishedJobsMs: 0, finishedBatchesMs: 0, deadLettersMs: 0 };
    const later = () => Date.now() + 40 * DAY;
    expect(await sweeper({ retention: keepForever, now: later }).sweep.sweep()).toMatchObject({
      jobs: 0,
      dead_letters: 0,
    });
    const stopped = new AbortController();
    stopped.abort();
    await sweeper({ now: later }).sweep.sweep(stopped.signal);
    expect(await exists("jobs", finished)).toBe(true);

    await sweeper({ now: later }).sweep.sweep();
    expect(await exists("jobs", finished)).toBe(false);
    expect(await exists("dead_letters", letter)).toBe(false);
  });

  it("deletes in bounded rounds, and replicas sweeping at once count each row once", async () => {
    tenant = `ten_${randomUUID()}`;
    const ids: string[] = [];
    for (let index = 0; index < 9; index++) ids.push(await job("succeeded", 31 * DAY));
    const statements: string[] = [];
    const counting: Database = {
      ...db,
      query: (text: string, params?: unknown[]) => {
        if (text.includes("DELETE FROM gateway.jobs")) statements.push(text);
        return db.query(text, params);
      },
    } as Database;
    const other = await connectDatabase({
      url: database.postgres.url,
      maxConnections: database.postgres.recommendedPoolSize,
    });
    try {
      const a = sweeper({ retention: { batchSize: 2 }, sql: counting });
      const b = sweeper({ retention: { batchSize: 2 }, sql: other });
      const [first, second] = await Promise.all([a.sweep.sweep(), b.sweep.sweep()]);
      expect(first.jobs + second.jobs).toBe(9);
      // Rounds of at most 2 rows: the first replica ran several DELETEs on jobs.
      expect(statements.filter((text) => text.includes("batch_id IS NULL")).length).toBeGreaterThanOrEqual(
        Math.ceil(first.jobs / 2),
      );
      for (const id of ids) expect(await exists("jobs", id)).toBe(false);
    } finally {
      await other.close();
    }
  });
});
