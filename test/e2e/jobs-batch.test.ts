import { type NatsServerHandle, startNatsServer, waitFor } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APIError,
  BadRequestError,
  NotFoundError,
  OpenAI,
} from "../../services/gateway/test/support/openai-sdk.js";
import { newTenantKey } from "../support/jobs-helpers.js";
import { startTestStack, type TestStack } from "../support/local-stack.js";

const MAX_FILE_BYTES = 16 * 1024;

const line = (customId: string, body: Record<string, unknown>, url = "/v1/chat/completions") =>
  JSON.stringify({ custom_id: customId, method: "POST", url, body });
const chatBody = (content: string, model = "strata-sim") => ({
  model,
  max_tokens: 4,
  messages: [{ role: "user", content }],
});
const jsonl = (...lines: string[]) => new File([`${lines.join("\n")}\n`], "requests.jsonl");

interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}
const parseJsonl = (text: string) =>
  text
    .split("\n")
    .filter((row) => row.trim() !== "")
    .map((row) => JSON.parse(row) as OutputLine);

// The Batch API works the same with the in-process bus (embedded mode) and on NATS JetStream.
describe.each(["embedded", "nats"] as const)("OpenAI's Files and Batch APIs (%s)", (mode) => {
  let nats: NatsServerHandle | undefined;
  let stack: TestStack;
  let client: OpenAI;

  beforeAll(async () => {
    nats = mode === "nats" ? await startNatsServer() : undefined;
    stack = await startTestStack(
      {
        engine: { decodeMsPerToken: 1 },
        gateway: {
          jobs: {
            workers: { concurrency: 2 },
            ackWaitMs: 3_000,
            sweepIntervalMs: 500,
            retry: { initialMs: 50 },
            files: { maxBytes: MAX_FILE_BYTES },
          },
        },
      },
      nats ? { natsUrl: nats.url } : {},
    );
    client = new OpenAI({ apiKey: stack.apiKey, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await nats?.stop();
  });

  const waitForBatch = async (id: string, statuses: string[], timeoutMs = 40_000) => {
    let batch = await client.batches.retrieve(id);
    await waitFor(
      async () => {
        batch = await client.batches.retrieve(id);
        return statuses.includes(batch.status);
      },
      { timeoutMs, intervalMs: 200, message: `batch ${id} to reach ${statuses.join("|")}` },
    );
    return batch;
  };

  it("uploads a file, runs a batch, and serves the output and error files to the SDK", async () => {
    const file = await client.files.create({
      file: jsonl(
        line("request-1", chatBody("first question")),
        line("request-2", chatBody("to a model that does not exist", "no-such-model")),
        line("request-3", chatBody("third question")),
      ),
      purpose: "batch",
      expires_after: { anchor: "created_at", seconds: 7_200 },
    });
    // The SDK sends expires_after as form fields; the file expires that long after its creation.
    expect(file.expires_at! - file.created_at).toBe(7_200);
    expect(file).toMatchObject({
      object: "file",
      purpose: "batch",
      filename: "requests.jsonl",
      status: "processed",
    });
    expect(file.id).toMatch(/^file-/);

    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
      metadata: { project: "batch-test" },
      output_expires_after: { anchor: "created_at", seconds: 3_600 },
    });
    expect(created).toMatchObject({ object: "batch", status: "validating", input_file_id: file.id });
    expect(created.expires_at! - created.created_at).toBe(86_400);

    const batch = await waitForBatch(created.id, ["completed", "failed"]);
    expect(batch.status).toBe("completed");
    expect(batch.request_counts).toEqual({ total: 3, completed: 2, failed: 1 });
    expect(batch.metadata).toEqual({ project: "batch-test" });
    expect(batch.model).toBe("strata-sim");
    expect(batch.in_progress_at).toBeGreaterThanOrEqual(batch.created_at);
    expect(batch.finalizing_at).toBeGreaterThanOrEqual(batch.in_progress_at!);
    expect(batch.completed_at).toBeGreaterThanOrEqual(batch.finalizing_at!);
    expect(batch.usage!.input_tokens).toBeGreaterThan(0);
    expect(batch.usage!.output_tokens).toBeGreaterThan(0);

    const output = parseJsonl(await (await client.files.content(batch.output_file_id!)).text());
    expect(output.map((entry) => entry.custom_id)).toEqual(["request-1", "request-3"]);
    for (const entry of output) {
      expect(entry.id).toMatch(/^batch_req_/);
      expect(entry.error).toBeNull();
      expect(entry.response!.status_code).toBe(200);
      expect(entry.response!.request_id).toMatch(/^req_/);
      expect(entry.response!.body.object).toBe("chat.completion");
    }
    const errors = parseJsonl(await (await client.files.content(batch.error_file_id!)).text());
    expect(errors).toHaveLength(1);
    expect(errors[0]!.custom_id).toBe("request-2");
    expect(errors[0]!.response!.status_code).toBe(404);
    expect((errors[0]!.response!.body.error as { code: string }).code).toBe("model_not_found");

    const outputFile = await client.files.retrieve(batch.output_file_id!);
    expect(outputFile.purpose).toBe("batch_output");
    expect(outputFile.expires_at! - outputFile.created_at).toBe(3_600);
    const listed = [];
    for await (const item of client.batches.list({ limit: 2 })) listed.push(item.id);
    expect(listed).toContain(created.id);
    const files = [];
    for await (const item of client.files.list({ purpose: "batch" })) files.push(item.id);
    expect(files).toContain(file.id);

    // Deleting the input file leaves the finished batch and its outputs alone.
    expect(await client.files.delete(file.id)).toEqual({ id: file.id, object: "file", deleted: true });
    await expect(client.files.retrieve(file.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await client.batches.retrieve(created.id)).status).toBe("completed");
  }, 90_000);

  it("keeps each tenant's files and batches to itself", async () => {
    const file = await client.files.create({
      file: jsonl(line("only", chatBody("private"))),
      purpose: "batch",
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    const finished = await waitForBatch(batch.id, ["completed"]);
    const other = new OpenAI({
      apiKey: (await newTenantKey(stack)).apiKey,
      baseURL: `${stack.gatewayUrl}/v1`,
      maxRetries: 0,
    });
    await expect(other.files.retrieve(file.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(other.files.content(finished.output_file_id!)).rejects.toBeInstanceOf(NotFoundError);
    await expect(other.batches.retrieve(batch.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(other.batches.cancel(batch.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      other.batches.create({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      }),
    ).rejects.toBeInstanceOf(BadRequestError);
    expect((await other.batches.list()).data).toEqual([]);
    expect((await other.files.list()).data).toEqual([]);
  }, 60_000);

  it("refuses bad files with errors naming the line, and bad batches before they start", async () => {
    const upload = (file: File, purpose = "batch") =>
      client.files.create({ file, purpose: purpose as "batch" }).then(
        () => undefined,
        (error: unknown) => error as APIError,
      );
    const broken = await upload(jsonl(line("a", chatBody("fine")), '{"custom_id": "b", "method": "POST"'));
    expect(broken).toBeInstanceOf(BadRequestError);
    expect(broken!.message).toMatch(/Line 2: not valid JSON/);
    expect((broken!.error as { param: string }).param).toBe("file");
    const duplicate = await upload(jsonl(line("same", chatBody("1")), "", line("same", chatBody("2"))));
    expect(duplicate!.message).toMatch(/Line 3: the custom_id 'same' is also used on line 1/);
    const noUrl = await upload(jsonl(line("a", chatBody("x"), "/v1/images/generations")));
    expect(noUrl!.message).toMatch(/Line 1: 'url' must be one of/);
    const wrongMethod = await upload(
      jsonl(JSON.stringify({ custom_id: "a", method: "GET", url: "/v1/completions", body: {} })),
    );
    expect(wrongMethod!.message).toMatch(/Line 1: 'method' must be "POST"/);
    expect((await upload(jsonl("")))!.message).toMatch(/contains no requests/);
    const tooBig = await upload(new File(["x".repeat(MAX_FILE_BYTES + 1)], "big.jsonl"));
    expect(tooBig).toBeInstanceOf(APIError);
    expect(tooBig!.status).toBe(413);
    const purpose = await upload(jsonl(line("a", chatBody("x"))), "fine-tune");
    expect(purpose!.status).toBe(400);
    expect(purpose!.message).toMatch(/'fine-tune' is not supported/);

    const file = await client.files.create({ file: jsonl(line("a", chatBody("x"))), purpose: "batch" });
    const create = (body: Record<string, unknown>) =>
      client.batches
        .create({
          input_file_id: file.id,
          endpoint: "/v1/chat/completions",
          completion_window: "24h",
          ...body,
        } as never)
        .then(
          () => undefined,
          (error: unknown) => error as APIError,
        );
    const endpoint = await create({ endpoint: "/v1/embeddings" });
    expect(endpoint!.status).toBe(400);
    expect((endpoint!.error as { param: string }).param).toBe("endpoint");
    const window = await create({ completion_window: "1h" });
    expect((window!.error as { param: string }).param).toBe("completion_window");
    const missing = await create({ input_file_id: "file-missing" });
    expect((missing!.error as { param: string }).param).toBe("input_file_id");
  });

  it("fails a batch whose lines are for another endpoint, naming the lines", async () => {
    const file = await client.files.create({
      file: jsonl(
        line("ok", chatBody("x")),
        line("text", { model: "strata-sim", prompt: "x" }, "/v1/completions"),
      ),
      purpose: "batch",
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    const failed = await waitForBatch(batch.id, ["failed", "completed"]);
    expect(failed.status).toBe("failed");
    expect(failed.failed_at).toBeGreaterThan(0);
    expect(failed.errors!.data![0]).toMatchObject({ code: "invalid_url", line: 2, param: "url" });
    expect(failed.request_counts).toEqual({ total: 0, completed: 0, failed: 0 });
  });

  it("cancels a running batch: unfinished lines go to the error file as cancelled", async () => {
    for (const engine of stack.engines) engine.faults.set([{ match: "slow batch line", hangMs: 60_000 }]);
    try {
      const lines = Array.from({ length: 6 }, (_, index) =>
        line(`slow-${index}`, chatBody(`slow batch line ${index}`)),
      );
      const file = await client.files.create({ file: jsonl(...lines), purpose: "batch" });
      const batch = await client.batches.create({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      });
      await waitForBatch(batch.id, ["in_progress"]);
      const cancelling = await client.batches.cancel(batch.id);
      expect(["cancelling", "cancelled"]).toContain(cancelling.status);
      const cancelled = await waitForBatch(batch.id, ["cancelled"]);
      expect(cancelled.cancelling_at).toBeGreaterThan(0);
      expect(cancelled.cancelled_at).toBeGreaterThanOrEqual(cancelled.cancelling_at!);
      expect(cancelled.request_counts).toEqual({ total: 6, completed: 0, failed: 0 });
      expect(cancelled.output_file_id).toBeNull();
      const errors = parseJsonl(await (await client.files.content(cancelled.error_file_id!)).text());
      expect(errors.map((entry) => entry.custom_id)).toEqual(lines.map((_, index) => `slow-${index}`));
      for (const entry of errors)
        expect(entry).toMatchObject({ response: null, error: { code: "batch_cancelled" } });
      // A finished batch cannot be cancelled again into another state.
      expect((await client.batches.cancel(batch.id)).status).toBe("cancelled");
    } finally {
      for (const engine of stack.engines) engine.faults.clear();
    }
  }, 60_000);
});
