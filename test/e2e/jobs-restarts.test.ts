import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { type NatsServerHandle, startNatsServer, waitFor } from "@strata/kit/testing";
import { gatewayJobsV1, jobEventsStream } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenAI } from "../../services/gateway/test/support/openai-sdk.js";
import { gatewayRequest, type JobJson, pollJob } from "../support/jobs-helpers.js";
import { startTestStack, type TestStack } from "../support/local-stack.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const ACK_WAIT_MS = 2_000;

/** A gateway replica in its own process (the real entry point), so it can be killed outright. */
async function startReplica(stack: TestStack, natsUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "services/gateway/src/main.ts"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: stack.database.url,
      NATS_URL: natsUrl,
      GATEWAY_KEY_HASH_SECRET: (await readFile(join(stack.home, "key-hash-secret"), "utf8")).trim(),
      GATEWAY_ROUTER_ADDRESS: stack.routerAddress,
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_PORT: "0",
      GATEWAY_GRPC_HOST: "127.0.0.1",
      GATEWAY_GRPC_PORT: "0",
      GATEWAY_OPS_PORT: "0",
      GATEWAY_JOBS_ACK_WAIT_MS: String(ACK_WAIT_MS),
      GATEWAY_JOBS_SWEEP_INTERVAL_MS: "500",
      GATEWAY_JOBS_RETRY_INITIAL_MS: "50",
      LOG_LEVEL: "info",
    },
  });
  const output: string[] = [];
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start:\n${output.join("")}`)), 60_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output.push(chunk.toString());
      if (chunk.toString().includes("gateway listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited with ${code}:\n${output.join("")}`));
    });
  });
  return child;
}

async function kill(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill(signal);
  await exited;
}

describe("a worker killed mid-job", () => {
  let nats: NatsServerHandle;
  let stack: TestStack;
  const replicas: ChildProcess[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    // This in-process gateway accepts jobs but runs none: the replicas below do.
    stack = await startTestStack(
      { engine: { decodeMsPerToken: 1 }, gateway: { jobs: { workers: { enabled: false } } } },
      { natsUrl: nats.url },
    );
  }, 60_000);
  afterAll(async () => {
    for (const replica of replicas) await kill(replica, "SIGTERM");
    for (const engine of stack?.engines ?? []) engine.faults.clear();
    await stack?.close();
    await nats?.stop();
  });

  it("has its job redelivered to another worker, which completes it exactly once", async () => {
    for (const engine of stack.engines) engine.faults.set([{ match: "kill the worker", hangMs: 30_000 }]);
    const first = await startReplica(stack, nats.url);
    replicas.push(first);
    const submitted = (await (
      await gatewayRequest(stack)("POST", "/v1/jobs", {
        endpoint: "/v1/chat/completions",
        model: "strata-sim",
        max_tokens: 4,
        messages: [{ role: "user", content: "kill the worker" }],
      })
    ).json()) as JobJson;
    await pollJob(stack, submitted.id, (job) => job.status === "running");

    await kill(first, "SIGKILL");
    for (const engine of stack.engines) engine.faults.clear();
    replicas.push(await startReplica(stack, nats.url));

    const done = await pollJob(stack, submitted.id, undefined, 60_000);
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(2);
    expect(done.result!.status_code).toBe(200);

    // Completed once: one finished event, one usage row for the answer.
    const events: string[] = [];
    const subscription = await stack.bus.consume(
      { stream: jobEventsStream.name, durable: `kill-${randomUUID().slice(0, 8)}` },
      async (message) => {
        events.push(fromBinary(gatewayJobsV1.JobFinishedSchema, message.data).jobId);
      },
    );
    await waitFor(() => events.includes(submitted.id), { message: "the finished event" });
    await new Promise((resolve) => setTimeout(resolve, 2 * ACK_WAIT_MS));
    await subscription.stop();
    expect(events.filter((id) => id === submitted.id)).toHaveLength(1);
    const ledger = await stack.database.query(
      "SELECT count(*)::int AS rows FROM gateway.usage_ledger WHERE request_id = $1 AND status = 200",
      [done.result!.request_id],
    );
    expect(ledger.rows[0].rows).toBe(1);
    expect((await pollJob(stack, submitted.id)).attempts).toBe(2);
  }, 180_000);
});

describe("NATS restarted during a batch", () => {
  let nats: NatsServerHandle;
  let stack: TestStack;

  beforeAll(async () => {
    nats = await startNatsServer();
    stack = await startTestStack(
      {
        engine: { decodeMsPerToken: 10 },
        gateway: {
          jobs: {
            workers: { concurrency: 2 },
            ackWaitMs: ACK_WAIT_MS,
            sweepIntervalMs: 500,
            retry: { initialMs: 50 },
          },
        },
      },
      { natsUrl: nats.url },
    );
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await nats?.stop();
  });

  it("completes every line exactly once", async () => {
    const client = new OpenAI({ apiKey: stack.apiKey, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 5 });
    const total = 40;
    const lines = Array.from({ length: total }, (_, index) =>
      JSON.stringify({
        custom_id: `line-${index}`,
        method: "POST",
        url: "/v1/chat/completions",
        body: {
          model: "strata-sim",
          max_tokens: 12,
          messages: [{ role: "user", content: `question ${index}` }],
        },
      }),
    );
    const file = await client.files.create({
      file: new File([lines.join("\n")], "restart.jsonl"),
      purpose: "batch",
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    await waitFor(async () => (await client.batches.retrieve(batch.id)).request_counts!.completed >= 3, {
      timeoutMs: 30_000,
      message: "the first lines to complete",
    });

    const before = await client.batches.retrieve(batch.id);
    expect(before.status).toBe("in_progress");
    expect(before.request_counts!.completed).toBeLessThan(total);
    await nats.restart();

    let finished = await client.batches.retrieve(batch.id);
    await waitFor(
      async () => {
        finished = await client.batches.retrieve(batch.id);
        return ["completed", "failed"].includes(finished.status);
      },
      { timeoutMs: 90_000, intervalMs: 250, message: "the batch to finish after the restart" },
    );
    expect(finished.status).toBe("completed");
    expect(finished.request_counts).toEqual({ total, completed: total, failed: 0 });
    const output = (await (await client.files.content(finished.output_file_id!)).text())
      .split("\n")
      .filter(Boolean)
      .map((row) => JSON.parse(row) as { custom_id: string; response: { status_code: number } });
    expect(output.map((entry) => entry.custom_id)).toEqual(lines.map((_, index) => `line-${index}`));
    expect(output.every((entry) => entry.response.status_code === 200)).toBe(true);
    expect(finished.error_file_id).toBeNull();
  }, 180_000);
});
