import { type NatsServerHandle, startNatsServer, waitFor } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayRequest, type JobJson, pollJob, startWebhookReceiver } from "../support/jobs-helpers.js";
import { adminRequest, startTestStack, type TestStack } from "../support/local-stack.js";

interface DeadLetterJson {
  id: string;
  object: "dead_letter";
  kind: string;
  subject: string;
  consumer: string;
  deliveries: number;
  job_id: string | null;
  tenant_id: string | null;
  error: { code: string; message: string } | null;
  replayed_at: number | null;
}

const MAX_DELIVERIES = 3;

describe("dead letters after the last delivery, and replay", () => {
  let nats: NatsServerHandle;
  let stack: TestStack;

  beforeAll(async () => {
    nats = await startNatsServer();
    stack = await startTestStack(
      {
        engine: { decodeMsPerToken: 1 },
        gateway: {
          jobs: {
            maxDeliveries: MAX_DELIVERIES,
            ackWaitMs: 3_000,
            sweepIntervalMs: 500,
            retry: { initialMs: 50, maxMs: 200 },
            // allowPrivateNetworks: the test's webhook receiver listens on loopback.
            webhooks: { maxDeliveries: 2, backoffMs: [50], allowPrivateNetworks: true },
          },
          // Every job attempt reaches the engine once, and the engines' circuits stay closed.
          providers: {
            engine: { maxRetries: 0 },
            breaker: { consecutiveFailures: 1_000, minimumRequests: 1_000 },
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

  const deadLetters = async (query = "") =>
    ((await (await adminRequest(stack, "GET", `/dead-letters${query}`)).json()) as { data: DeadLetterJson[] })
      .data;

  it("retries a failing job with back-off, fails it after the last attempt, dead-letters it, and replays it", async () => {
    for (const engine of stack.engines) engine.faults.set([{ match: "always breaks", status: 500 }]);
    const request = gatewayRequest(stack);
    const submitted = (await (
      await request("POST", "/v1/jobs", {
        endpoint: "/v1/chat/completions",
        model: "strata-sim",
        max_tokens: 4,
        messages: [{ role: "user", content: "always breaks" }],
      })
    ).json()) as JobJson;

    const failed = await pollJob(stack, submitted.id, (job) => job.status === "failed");
    expect(failed.attempts).toBe(MAX_DELIVERIES);
    expect(failed.result!.status_code).toBeGreaterThanOrEqual(500);
    expect(failed.error!.code).not.toBe("dead_lettered"); // the last attempt's own error

    let letter: DeadLetterJson | undefined;
    await waitFor(
      async () => {
        letter = (await deadLetters("?kind=run")).find((item) => item.job_id === submitted.id);
        return letter !== undefined;
      },
      { timeoutMs: 20_000, message: "the dead letter" },
    );
    expect(letter).toMatchObject({
      object: "dead_letter",
      kind: "run",
      consumer: "jobs-run",
      deliveries: MAX_DELIVERIES,
      subject: "strata.gateway.v1.jobs.work.run",
      replayed_at: null,
    });
    expect(letter!.tenant_id).toBeTruthy();
    const one = await adminRequest(stack, "GET", `/dead-letters/${letter!.id}`);
    expect(((await one.json()) as DeadLetterJson).id).toBe(letter!.id);
    // The dead letter moved out of the work queue: nothing redelivers it on its own.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await pollJob(stack, submitted.id)).attempts).toBe(MAX_DELIVERIES);

    // The upstream is fixed; the admin replays the dead letter and the job runs again, once.
    for (const engine of stack.engines) engine.faults.clear();
    const replay = await adminRequest(stack, "POST", `/dead-letters/${letter!.id}/replay`);
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as DeadLetterJson).replayed_at).toBeGreaterThan(0);
    const succeeded = await pollJob(stack, submitted.id, (job) => job.status === "succeeded");
    expect(succeeded.attempts).toBe(MAX_DELIVERIES + 1);
    expect(succeeded.error).toBeNull();
    expect(succeeded.result!.status_code).toBe(200);

    const again = await adminRequest(stack, "POST", `/dead-letters/${letter!.id}/replay`);
    expect(again.status).toBe(409);
    expect((await deadLetters("?replayed=false")).map((item) => item.id)).not.toContain(letter!.id);
  }, 90_000);

  it("dead-letters a webhook nobody accepts, and sends it again on replay", async () => {
    const receiver = await startWebhookReceiver([503, 503]);
    try {
      const request = gatewayRequest(stack);
      const job = (await (
        await request("POST", "/v1/jobs", {
          endpoint: "/v1/completions",
          model: "strata-sim",
          prompt: "webhook please",
          max_tokens: 2,
          webhook_url: receiver.url,
        })
      ).json()) as JobJson;
      await pollJob(stack, job.id);
      let letter: DeadLetterJson | undefined;
      await waitFor(
        async () => {
          letter = (await deadLetters("?kind=webhook")).find((item) => item.job_id === job.id);
          return letter !== undefined;
        },
        { timeoutMs: 20_000, message: "the webhook's dead letter" },
      );
      expect(receiver.received).toHaveLength(2);
      expect(letter!.consumer).toBe("jobs-webhook");
      expect((await adminRequest(stack, "POST", `/dead-letters/${letter!.id}/replay`)).status).toBe(200);
      await waitFor(() => receiver.received.length === 3, { message: "the replayed webhook" });
      // The job itself was not run again.
      expect((await pollJob(stack, job.id)).attempts).toBe(1);
    } finally {
      await receiver.close();
    }
  }, 60_000);

  it("guards the dead-letter API with the admin credential", async () => {
    const asTenant = await fetch(`${stack.gatewayUrl}/admin/v1/dead-letters`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    expect(asTenant.status).toBe(403);
    expect((await adminRequest(stack, "POST", "/dead-letters/dl_missing/replay")).status).toBe(404);
    expect((await adminRequest(stack, "GET", "/dead-letters?kind=nope")).status).toBe(400);
  });
});
