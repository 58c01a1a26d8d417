import { create, toBinary } from "@bufbuild/protobuf";
import { waitFor } from "@strata/kit/testing";
import { gatewayJobsV1, jobWorkStream, jobWorkSubjects } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { createBatch, jobsSuite } from "./jobs-harness.js";

interface JobJson {
  id: string;
  status: string;
  attempts: number;
  error: { code: string } | null;
  result: { status_code: number; body: unknown } | null;
}

/**
 * The workers' contract with the completion pipeline, on the in-process bus and a real (PGlite)
 * Postgres: the pipeline is a typed fake whose behaviour each test picks by the prompt's text.
 */
describe("job workers", () => {
  const suite = jobsSuite("workers", {
    ackWaitMs: 1_000,
    maxDeliveries: 3,
    sweepIntervalMs: 200,
    retry: { initialMs: 20, maxMs: 50 },
    rateLimits: { models: { limited: { requestsPerMinute: 600, burst: 1 } } },
  });
  const { bus, pipeline } = suite;
  let url: string;

  const start = async (config: Record<string, unknown> = {}) => {
    url = (await suite.start(config)).url;
  };
  const stop = () => suite.stop();

  const submit = async (content: string, model = "sim") => {
    const response = await fetch(`${url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        endpoint: "/v1/chat/completions",
        model,
        messages: [{ role: "user", content }],
      }),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as JobJson).id;
  };
  const get = async (id: string) => (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as JobJson;
  const settled = async (id: string, status = ["succeeded", "failed", "cancelled"]) => {
    let job = await get(id);
    await waitFor(
      async () => {
        job = await get(id);
        return status.includes(job.status);
      },
      { timeoutMs: 15_000, message: `job ${id} to settle (last: ${JSON.stringify(job)})` },
    );
    return job;
  };

  it("queues a burst on a rate-limited model instead of failing it, spacing the starts", async () => {
    await start();
    const contents = Array.from({ length: 5 }, (_, index) => `burst ${index}`);
    const began = performance.now();
    const ids = await Promise.all(contents.map((content) => submit(content, "limited")));
    for (const id of ids) expect(await settled(id)).toMatchObject({ status: "succeeded", attempts: 1 });
    const starts = pipeline.calls
      .filter((call) => call.content.startsWith("burst"))
      .map((call) => call.at)
      .sort((a, b) => a - b);
    // 600 per minute with no burst: the k-th start comes at least k × 100 ms after the burst (a slow
    // machine only delays them more). Each start may lag its slot a little (the claim in Postgres), so
    // the bound is from the burst, not between neighbours.
    for (const [index, at] of starts.entries()) expect(at - began).toBeGreaterThanOrEqual(index * 100 - 1);
  });

  it("retries retryable failures with back-off and runs the job with the submitting key", async () => {
    await start();
    pipeline.failNext("flaky", 2);
    const job = await settled(await submit("flaky"));
    expect(job).toMatchObject({ status: "succeeded", attempts: 3, error: null });
    expect(pipeline.callsFor("flaky")).toBe(3);
    expect(pipeline.calls.find((call) => call.content === "flaky")!.auth.apiKeyId).toBe(
      suite.database.auth.apiKeyId,
    );
  });

  it("fails at once on an unrecoverable error, keeping the error answer", async () => {
    await start();
    const job = await settled(await submit("bad request"));
    expect(job).toMatchObject({ status: "failed", attempts: 1, error: { code: "invalid_request" } });
    expect(job.result!.status_code).toBe(400);
    expect(pipeline.callsFor("bad request")).toBe(1);
  });

  it("never runs a finished job again when its work item is delivered again", async () => {
    await start();
    const id = await submit("once only");
    await settled(id);
    const duplicate = toBinary(gatewayJobsV1.JobRunSchema, create(gatewayJobsV1.JobRunSchema, { jobId: id }));
    await bus.publish(jobWorkSubjects.run, duplicate, { msgId: "a-second-delivery" });
    await waitFor(() => bus.streamInfo(jobWorkStream.name)?.messages === 0, {
      message: "the duplicate consumed",
    });
    expect(pipeline.callsFor("once only")).toBe(1);
    expect((await get(id)).attempts).toBe(1);
  });

  it("drops a malformed work item instead of retrying it", async () => {
    await start();
    await bus.publish(jobWorkSubjects.run, new Uint8Array([0xff, 0xff, 0xff]), { msgId: "garbage" });
    await waitFor(() => bus.streamInfo(jobWorkStream.name)?.messages === 0, {
      message: "the item terminated",
    });
  });

  it("stops the jobs of a key revoked after they were submitted", async () => {
    await start();
    await suite.database.db.query("UPDATE gateway.api_keys SET revoked_at = now() WHERE id = $1", [
      suite.database.auth.apiKeyId,
    ]);
    try {
      const job = await settled(await submit("after revocation"));
      expect(job).toMatchObject({ status: "failed", attempts: 1, error: { code: "invalid_api_key" } });
      expect(job.result!.status_code).toBe(401);
      expect(pipeline.callsFor("after revocation")).toBe(0);
    } finally {
      await suite.database.db.query("UPDATE gateway.api_keys SET revoked_at = NULL WHERE id = $1", [
        suite.database.auth.apiKeyId,
      ]);
    }
  });

  it("hands a running job back on shutdown, and the next worker takes it up", async () => {
    await start();
    const id = await submit("hang until shutdown");
    await settled(id, ["running"]);
    await stop();
    const handedBack = await suite.database.db.query(
      "SELECT status, lease_owner FROM gateway.jobs WHERE id = $1",
      [id],
    );
    expect(handedBack.rows[0]).toEqual({ status: "queued", lease_owner: null });

    // The next worker gets the same work item; this time the pipeline answers.
    await start();
    await waitFor(() => pipeline.callsFor("hang until shutdown") === 2, { message: "the second attempt" });
    expect((await get(id)).status).toBe("running");
    await suite.database.db.query("UPDATE gateway.jobs SET status = 'cancelled' WHERE id = $1", [id]);
  });

  it("expires a batch past its window: lines not started yet go to the error file as batch_expired", async () => {
    await start({ workers: { concurrency: 1 }, batches: { completionWindowMs: 1_000 } });
    const lines = ["slow first", "never started", "never started either"].map((content, index) =>
      JSON.stringify({
        custom_id: `line-${index}`,
        method: "POST",
        url: "/v1/chat/completions",
        body: { model: "sim", messages: [{ role: "user", content }] },
      }),
    );
    const form = new FormData();
    form.append("purpose", "batch");
    form.append("file", new Blob([lines.join("\n")]), "expiring.jsonl");
    const file = (await (await fetch(`${url}/v1/files`, { method: "POST", body: form })).json()) as {
      id: string;
    };
    const created = await createBatch(url, file.id);
    const batchId = ((await created.json()) as { id: string }).id;
    interface BatchJson {
      status: string;
      expired_at: number | null;
      output_file_id: string;
      error_file_id: string;
      request_counts: unknown;
    }
    let batch: BatchJson | undefined;
    await waitFor(
      async () => {
        batch = (await (await fetch(`${url}/v1/batches/${batchId}`)).json()) as BatchJson;
        return batch.status === "expired";
      },
      { timeoutMs: 15_000, message: "the batch to expire" },
    );
    expect(batch!.expired_at).toBeGreaterThan(0);
    expect(batch!.request_counts).toEqual({ total: 3, completed: 1, failed: 0 });
    const read = async (id: string) =>
      (await (await fetch(`${url}/v1/files/${id}/content`)).text())
        .split("\n")
        .filter(Boolean)
        .map((row) => JSON.parse(row) as { custom_id: string; error: { code: string } | null });
    expect((await read(batch!.output_file_id)).map((entry) => entry.custom_id)).toEqual(["line-0"]);
    const errors = await read(batch!.error_file_id);
    expect(errors.map((entry) => [entry.custom_id, entry.error?.code])).toEqual([
      ["line-1", "batch_expired"],
      ["line-2", "batch_expired"],
    ]);
    expect(pipeline.callsFor("never started")).toBe(0);
  });
});
