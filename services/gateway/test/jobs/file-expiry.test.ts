import { waitFor } from "@strata/kit/testing";
import { afterEach, describe, expect, it } from "vitest";
import { createBatch, type JobsUnderTest, jobsSuite } from "./jobs-harness.js";

interface FileJson {
  id: string;
  created_at: number;
  expires_at: number | null;
}

interface ErrorJson {
  error: { param: string | null; message: string };
}

const line = (customId: string) =>
  JSON.stringify({
    custom_id: customId,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "sim", messages: [{ role: "user", content: customId }] },
  });

describe("file expiry (expires_after, output_expires_after, retention)", () => {
  const suite = jobsSuite("file-expiry", { sweepIntervalMs: 200 });
  /** The gateway's clock: tests move it on to see files expire. */
  let offsetMs = 0;
  let running: JobsUnderTest;
  afterEach(() => {
    offsetMs = 0;
  });

  async function start(config: Record<string, unknown> = {}): Promise<string> {
    running = await suite.start(config, () => Date.now() + offsetMs);
    return running.url;
  }

  async function upload(url: string, fields: Record<string, string> = {}) {
    const form = new FormData();
    form.append("purpose", "batch");
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("file", new Blob([`${line("a")}\n${line("b")}\n`]), "input.jsonl");
    const response = await fetch(`${url}/v1/files`, { method: "POST", body: form });
    return { status: response.status, body: (await response.json()) as FileJson & ErrorJson };
  }

  it("sets expires_at from expires_after, or from the retention setting", async () => {
    const url = await start();
    const given = await upload(url, {
      "expires_after[anchor]": "created_at",
      "expires_after[seconds]": "3600",
    });
    expect(given.status).toBe(200);
    expect(given.body.expires_at! - given.body.created_at).toBe(3_600);
    const defaulted = await upload(url);
    expect(defaulted.body.expires_at! - defaulted.body.created_at).toBe(30 * 86_400);
    const kept = await upload(await start({ retention: { inputFilesMs: 0 } }));
    expect(kept.body.expires_at).toBeNull();
  });

  it("refuses a bad expires_after with a 400 naming the field", async () => {
    const url = await start();
    const cases: [Record<string, string>, string, RegExp][] = [
      [
        { "expires_after[anchor]": "last_used", "expires_after[seconds]": "3600" },
        "expires_after.anchor",
        /created_at/,
      ],
      [
        { "expires_after[anchor]": "created_at", "expires_after[seconds]": "60" },
        "expires_after.seconds",
        /3600/,
      ],
      [
        { "expires_after[anchor]": "created_at", "expires_after[seconds]": "9999999" },
        "expires_after.seconds",
        /2592000/,
      ],
      [{ "expires_after[anchor]": "created_at" }, "expires_after.seconds", /Missing required parameter/],
      [
        { "expires_after[anchor]": "created_at", "expires_after[seconds]": "1h" },
        "expires_after.seconds",
        /number/,
      ],
      [{ expires_after: "3600" }, "expires_after", /expires_after\[anchor\]/],
    ];
    for (const [fields, param, message] of cases) {
      const { status, body } = await upload(url, fields);
      expect(status, JSON.stringify(fields)).toBe(400);
      expect(body.error.param).toBe(param);
      expect(body.error.message).toMatch(message);
    }
  });

  it("answers 404 for an expired file at once, and the retention sweep deletes its row", async () => {
    const url = await start();
    const expiring = (
      await upload(url, { "expires_after[anchor]": "created_at", "expires_after[seconds]": "3600" })
    ).body;
    const lasting = (await upload(url)).body;
    expect((await fetch(`${url}/v1/files/${expiring.id}`)).status).toBe(200);

    offsetMs = 3_601_000;
    for (const path of [`/v1/files/${expiring.id}`, `/v1/files/${expiring.id}/content`])
      expect((await fetch(url + path)).status, path).toBe(404);
    expect((await fetch(`${url}/v1/files/${expiring.id}`, { method: "DELETE" })).status).toBe(404);
    const listed = (await (await fetch(`${url}/v1/files?limit=100`)).json()) as { data: FileJson[] };
    expect(listed.data.map((file) => file.id)).toContain(lasting.id);
    expect(listed.data.map((file) => file.id)).not.toContain(expiring.id);
    const batch = await createBatch(url, expiring.id);
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as ErrorJson).error.param).toBe("input_file_id");

    expect((await running.jobs.sweepRetention()).files).toBeGreaterThanOrEqual(1);
    const rows = await suite.database.db.query("SELECT id FROM gateway.files WHERE id = ANY($1)", [
      [expiring.id, lasting.id],
    ]);
    expect(rows.rows.map((row) => row.id)).toEqual([lasting.id]);
    const metric = await running.registry.getSingleMetricAsString("strata_gateway_retention_deleted_total");
    expect(metric).toMatch(/kind="files"\} [1-9]/);
  });

  it("gives a batch's output files the batch's output_expires_after", async () => {
    const url = await start();
    const input = (await upload(url)).body;
    const create = (outputExpiresAfter: unknown) =>
      createBatch(url, input.id, { output_expires_after: outputExpiresAfter });
    const refused = await create({ anchor: "created_at", seconds: 10 });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as ErrorJson).error.param).toBe("output_expires_after.seconds");

    const id = ((await (await create({ anchor: "created_at", seconds: 7_200 })).json()) as { id: string }).id;
    let outputFileId: string | undefined;
    await waitFor(
      async () => {
        const batch = (await (await fetch(`${url}/v1/batches/${id}`)).json()) as {
          status: string;
          output_file_id: string | null;
        };
        outputFileId = batch.output_file_id ?? undefined;
        return batch.status === "completed";
      },
      { timeoutMs: 20_000, message: "the batch to complete" },
    );
    const output = (await (await fetch(`${url}/v1/files/${outputFileId}`)).json()) as FileJson;
    expect(output.expires_at! - output.created_at).toBe(7_200);
  });
});
