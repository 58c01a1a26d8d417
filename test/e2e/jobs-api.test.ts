import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { createGrpcClient, StrataError } from "@strata/kit";
import { type NatsServerHandle, startNatsServer, waitFor } from "@strata/kit/testing";
import { gatewayJobsV1, jobEventsStream } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhook } from "../../services/gateway/src/jobs/webhook-signature.js";
import {
  gatewayRequest,
  type JobJson,
  newTenantKey,
  pollJob,
  startWebhookReceiver,
} from "../support/jobs-helpers.js";
import { adminRequest, startTestStack, type TestStack } from "../support/local-stack.js";

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  endpoint: "/v1/chat/completions",
  model: "strata-sim",
  max_tokens: 4,
  messages: [{ role: "user", content }],
  ...extra,
});

describe("async jobs on NATS JetStream and Postgres", () => {
  let nats: NatsServerHandle;
  let stack: TestStack;
  let request: ReturnType<typeof gatewayRequest>;

  beforeAll(async () => {
    nats = await startNatsServer();
    stack = await startTestStack(
      {
        engine: { decodeMsPerToken: 1 },
        gateway: {
          jobs: {
            workers: { concurrency: 1 },
            ackWaitMs: 3_000,
            sweepIntervalMs: 500,
            retry: { initialMs: 50 },
            // The test's webhook receiver listens on loopback, which webhooks may not reach by default.
            webhooks: { allowedHosts: ["127.0.0.1"] },
          },
        },
      },
      { natsUrl: nats.url },
    );
    request = gatewayRequest(stack);
  }, 60_000);
  afterAll(async () => {
    for (const engine of stack?.engines ?? []) engine.faults.clear();
    await stack?.close();
    await nats?.stop();
  });

  const webhookSecret = async (tenantId: string) =>
    (
      (await (await adminRequest(stack, "GET", `/tenants/${tenantId}/webhook-secret`)).json()) as {
        secret: string;
      }
    ).secret;

  const submit = async (body: unknown, headers: Record<string, string> = {}) => {
    const response = await request("POST", "/v1/jobs", body, headers);
    return { response, job: (await response.json()) as JobJson };
  };

  it("answers 202 with a queued job at once, runs it through the pipeline and keeps the result", async () => {
    const { response, job } = await submit(chat("hello jobs", { metadata: { purpose: "test" } }));
    expect(response.status).toBe(202);
    expect(response.headers.get("location")).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({
      object: "job",
      status: "queued",
      attempts: 0,
      model: "strata-sim",
      result: null,
    });
    expect(job.metadata).toEqual({ purpose: "test" });

    const done = await pollJob(stack, job.id);
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(1);
    expect(done.started_at).toBeGreaterThanOrEqual(done.created_at);
    expect(done.completed_at).toBeGreaterThanOrEqual(done.started_at!);
    const body = done.result!.body as { object: string; choices: { message: { content: string } }[] };
    expect(done.result!.status_code).toBe(200);
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0);
    // The attempt went through the usage ledger like a synchronous request.
    await waitFor(async () => {
      const rows = await stack.database.query(
        "SELECT status FROM gateway.usage_ledger WHERE request_id = $1",
        [done.result!.request_id],
      );
      return rows.rows[0]?.status === 200;
    });

    const list = (await (await request("GET", "/v1/jobs?limit=100")).json()) as {
      data: JobJson[];
      has_more: boolean;
    };
    expect(list.data.map((item) => item.id)).toContain(job.id);
  });

  it("runs text completions too", async () => {
    const { job } = await submit({
      endpoint: "/v1/completions",
      model: "strata-sim",
      prompt: "Once",
      max_tokens: 3,
    });
    const done = await pollJob(stack, job.id);
    expect(done.status).toBe("succeeded");
    expect((done.result!.body as { object: string }).object).toBe("text_completion");
  });

  it("pages the list newest first with `after`", async () => {
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) ids.push((await submit(chat(`page ${index}`))).job.id);
    const first = (await (await request("GET", "/v1/jobs?limit=2")).json()) as {
      data: JobJson[];
      has_more: boolean;
      last_id: string;
    };
    expect(first.data.map((item) => item.id)).toEqual([ids[2], ids[1]]);
    expect(first.has_more).toBe(true);
    const second = (await (await request("GET", `/v1/jobs?limit=2&after=${first.last_id}`)).json()) as {
      data: JobJson[];
    };
    expect(second.data[0]!.id).toBe(ids[0]);
    for (const id of ids) await pollJob(stack, id);
  });

  it("returns the same job for a repeated Idempotency-Key and refuses the key for another request", async () => {
    const key = `idem-${randomUUID()}`;
    const first = await submit(chat("only once"), { "idempotency-key": key });
    const again = await submit(chat("only once"), { "idempotency-key": key });
    expect(again.response.status).toBe(202);
    expect(again.response.headers.get("idempotent-replayed")).toBe("true");
    expect(again.job.id).toBe(first.job.id);
    const other = await submit(chat("something else"), { "idempotency-key": key });
    expect(other.response.status).toBe(409);
    expect((other.job as unknown as { error: { param: string } }).error.param).toBe("Idempotency-Key");
    const done = await pollJob(stack, first.job.id);
    expect(done.attempts).toBe(1);
  });

  it("keeps tenants apart: another tenant's job does not exist for it", async () => {
    const { job } = await submit(chat("mine"));
    const other = await newTenantKey(stack);
    const asOther = gatewayRequest(stack, other.apiKey);
    const get = await asOther("GET", `/v1/jobs/${job.id}`);
    expect(get.status).toBe(404);
    expect(((await get.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect((await asOther("DELETE", `/v1/jobs/${job.id}`)).status).toBe(404);
    const list = (await (await asOther("GET", "/v1/jobs")).json()) as { data: JobJson[] };
    expect(list.data.map((item) => item.id)).not.toContain(job.id);
    // Its own job is visible to it, and not to the first tenant.
    const own = (await (await asOther("POST", "/v1/jobs", chat("theirs"))).json()) as JobJson;
    expect((await request("GET", `/v1/jobs/${own.id}`)).status).toBe(404);
    expect((await asOther("GET", `/v1/jobs/${own.id}`)).status).toBe(200);
    await pollJob(stack, job.id);
  });

  it("refuses bad input with OpenAI-style errors before queueing anything", async () => {
    const cases: [unknown, string, RegExp][] = [
      [chat("x", { endpoint: "/v1/embeddings" }), "endpoint", /Unsupported endpoint '\/v1\/embeddings'/],
      [chat("x", { endpoint: "/v1/nothing" }), "endpoint", /Unsupported endpoint/],
      [
        { model: "strata-sim", messages: [{ role: "user", content: "x" }] },
        "endpoint",
        /Missing required parameter: 'endpoint'/,
      ],
      [chat("x", { stream: true }), "stream", /'stream' must be false/],
      [chat("x", { webhook_url: "ftp://example.com/hook" }), "webhook_url", /http or https/],
      [
        { endpoint: "/v1/chat/completions", model: "strata-sim" },
        "messages",
        /Missing required parameter: 'messages'/,
      ],
      [chat("x", { metadata: { k: 1 } }), "metadata.k", /Invalid value/],
    ];
    for (const [body, param, message] of cases) {
      const response = await request("POST", "/v1/jobs", body);
      const error = ((await response.json()) as { error: { type: string; param: string; message: string } })
        .error;
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(error.type).toBe("invalid_request_error");
      expect(error.param).toBe(param);
      expect(error.message).toMatch(message);
    }
    const noKey = await fetch(`${stack.gatewayUrl}/v1/jobs`, { method: "POST", body: "{}" });
    expect(noKey.status).toBe(401);
    expect((await request("GET", "/v1/jobs/job_doesnotexist")).status).toBe(404);
    expect((await request("PUT", "/v1/jobs")).status).toBe(405);
  });

  it("cancels a queued job so it never runs, and aborts a running one", async () => {
    for (const engine of stack.engines) engine.faults.set([{ match: "hold the worker", hangMs: 60_000 }]);
    try {
      const running = (await submit(chat("hold the worker"))).job;
      await pollJob(stack, running.id, (job) => job.status === "running");
      // One worker slot: this one waits in the stream behind the running job.
      const queued = (await submit(chat("never runs"))).job;
      const cancelQueued = await request("DELETE", `/v1/jobs/${queued.id}`);
      expect(cancelQueued.status).toBe(200);
      expect(((await cancelQueued.json()) as JobJson).status).toBe("cancelled");

      const cancelRunning = await request("DELETE", `/v1/jobs/${running.id}`);
      expect(((await cancelRunning.json()) as JobJson).status).toBe("cancelled");
      // The worker lets go of it at once (the hang would hold it for a minute): the next job runs.
      const next = await pollJob(stack, (await submit(chat("after the cancels"))).job.id, undefined, 20_000);
      expect(next.status).toBe("succeeded");

      const never = await pollJob(stack, queued.id);
      expect(never).toMatchObject({ status: "cancelled", attempts: 0, started_at: null, result: null });
      expect(never.error!.code).toBe("cancelled");
      const aborted = await pollJob(stack, running.id);
      expect(aborted).toMatchObject({ status: "cancelled", attempts: 1, result: null });
      // Cancelling again changes nothing; a finished job cannot be cancelled.
      expect((await request("DELETE", `/v1/jobs/${queued.id}`)).status).toBe(200);
      const refused = await request("DELETE", `/v1/jobs/${next.id}`);
      expect(refused.status).toBe(409);
    } finally {
      for (const engine of stack.engines) engine.faults.clear();
    }
  }, 60_000);

  it("publishes a JobFinished event and POSTs a signed webhook, retried until accepted", async () => {
    const receiver = await startWebhookReceiver([500]);
    const events: gatewayJobsV1.JobFinished[] = [];
    const subscription = await stack.bus.consume(
      { stream: jobEventsStream.name, durable: `events-${randomUUID().slice(0, 8)}` },
      async (message) => {
        events.push(fromBinary(gatewayJobsV1.JobFinishedSchema, message.data));
      },
    );
    try {
      const { job } = await submit(
        chat("tell me when done", { webhook_url: receiver.url, metadata: { run: "1" } }),
      );
      const done = await pollJob(stack, job.id);
      // The first POST got a 500: the webhook work item is retried with back-off.
      await waitFor(() => receiver.received.length >= 2, { timeoutMs: 20_000, message: "the webhook retry" });
      // The signing secret comes from the admin API; the tenant's own keys cannot read it.
      expect((await request("GET", "/v1/jobs/webhook-secret")).status).toBe(403);
      const tenants = (await (await adminRequest(stack, "GET", "/tenants?limit=100")).json()) as {
        data: { id: string; name: string }[];
      };
      const devTenant = tenants.data.find((tenant) => tenant.name === "dev")!.id;
      const secret = await webhookSecret(devTenant);
      for (const delivery of receiver.received) {
        expect(verifyWebhook(secret, delivery.headers["strata-signature"] as string, delivery.body)).toBe(
          true,
        );
        expect(
          verifyWebhook(secret, delivery.headers["strata-signature"] as string, `${delivery.body} `),
        ).toBe(false);
      }
      const ids = receiver.received.map((delivery) => delivery.headers["strata-webhook-id"]);
      expect(new Set(ids).size).toBe(1);
      const payload = JSON.parse(receiver.received.at(-1)!.body) as { type: string; data: JobJson };
      expect(payload.type).toBe("job.succeeded");
      expect(payload.data).toMatchObject({ id: job.id, status: "succeeded", attempts: done.attempts });

      // Another tenant's secret does not verify this tenant's webhooks.
      const other = await newTenantKey(stack);
      const otherSecret = await webhookSecret(other.tenantId);
      expect(otherSecret).not.toBe(secret);
      const last = receiver.received.at(-1)!;
      expect(verifyWebhook(otherSecret, last.headers["strata-signature"] as string, last.body)).toBe(false);

      await waitFor(() => events.some((event) => event.jobId === job.id), {
        message: "the JobFinished event",
      });
      const event = events.find((item) => item.jobId === job.id)!;
      expect(event).toMatchObject({ status: "succeeded", resultStatusCode: 200, model: "strata-sim" });
      expect(event.metadata).toEqual({ run: "1" });
    } finally {
      await subscription.stop();
      await receiver.close();
    }
  }, 60_000);

  it("offers the same operations over gRPC with the same keys", async () => {
    const client = createGrpcClient(gatewayJobsV1.JobsService, stack.gatewayGrpcAddress);
    const metadata = { authorization: `Bearer ${stack.apiKey}` };
    try {
      const submitted = await client.submitJob(
        {
          request: {
            case: "chatCompletion",
            value: {
              model: "strata-sim",
              messages: [{ role: "user", content: "over grpc" }],
              params: { maxTokens: 3 },
            },
          },
          metadata: { via: "grpc" },
        },
        { metadata },
      );
      expect(submitted.job!.status).toBe("queued");
      const id = submitted.job!.id;
      await waitFor(async () => (await client.getJob({ id }, { metadata })).job!.status === "succeeded", {
        timeoutMs: 20_000,
      });
      const got = (await client.getJob({ id }, { metadata })).job!;
      expect(got.result!.statusCode).toBe(200);
      expect(JSON.parse(got.result!.bodyJson).object).toBe("chat.completion");
      expect(got.metadata).toEqual({ via: "grpc" });
      const listed = await client.listJobs({ limit: 5 }, { metadata });
      expect(listed.data.map((job) => job.id)).toContain(id);

      const grpcStatus = (call: Promise<unknown>) =>
        call.then(
          () => "no error",
          (error: unknown) => (error instanceof StrataError ? error.grpcStatus : String(error)),
        );
      expect(await grpcStatus(client.getJob({ id }))).toBe(16); // UNAUTHENTICATED
      const other = await newTenantKey(stack);
      expect(
        await grpcStatus(client.getJob({ id }, { metadata: { authorization: `Bearer ${other.apiKey}` } })),
      ).toBe(
        5, // NOT_FOUND
      );
      expect(await grpcStatus(client.submitJob({}, { metadata }))).toBe(3); // INVALID_ARGUMENT
      expect(await grpcStatus(client.cancelJob({ id }, { metadata }))).toBe(9); // FAILED_PRECONDITION
    } finally {
      client.close();
    }
  }, 60_000);
});
