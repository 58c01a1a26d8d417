import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { type BusMessage, Registry, silentLogger } from "@strata/kit";
import { gatewayJobsV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobRecord } from "../../src/jobs/job-model.js";
import { createJobsMetrics } from "../../src/jobs/jobs-metrics.js";
import { WebhookAddressPolicy, type WebhookNetworkConfig } from "../../src/jobs/webhook-address-policy.js";
import { type ResolveHost, WebhookRefusedError, webhookAgent } from "../../src/jobs/webhook-agent.js";
import { WebhookSender } from "../../src/jobs/webhook-sender.js";
import { verifyWebhook } from "../../src/jobs/webhook-signature.js";

/** An HTTP server on 127.0.0.1 that records what reaches it and answers with `status` (and `headers`). */
async function startReceiver(status = 200, headers: Record<string, string> = {}) {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(status, headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const secret = "whsec_test-secret";

const job = (webhookUrl: string): JobRecord => ({
  id: "job_webhook",
  tenantId: "ten_webhooks",
  apiKeyId: "key_webhooks",
  endpoint: "/v1/chat/completions",
  model: "sim",
  request: {},
  status: "succeeded",
  attempts: 1,
  resultStatus: 200,
  resultBody: { ok: true },
  error: undefined,
  requestId: "req_1",
  webhookUrl,
  metadata: undefined,
  batchId: undefined,
  customId: undefined,
  line: undefined,
  notified: true,
  leaseOwner: undefined,
  leaseExpiresAt: undefined,
  createdAt: new Date(),
  startedAt: new Date(),
  completedAt: new Date(),
  cancelledAt: undefined,
});

/** A delivery work item as the bus hands it over (a typed fake: the sender only reads and terms it). */
function deliveryMessage(): BusMessage & { terminated: boolean } {
  const data = toBinary(
    gatewayJobsV1.WebhookDeliverySchema,
    create(gatewayJobsV1.WebhookDeliverySchema, { jobId: "job_webhook", status: "succeeded" }),
  );
  const message = {
    subject: "test.webhook",
    data,
    headers: {},
    deliveryCount: 1,
    streamSeq: 1,
    terminated: false,
    ack() {},
    nak() {},
    term() {
      message.terminated = true;
    },
    working() {},
  };
  return message;
}

/** Sends one webhook to `url` under `network`; resolves to the error it threw, or undefined when delivered. */
async function send(url: string, network: WebhookNetworkConfig, resolve?: ResolveHost) {
  const registry = new Registry();
  const metrics = createJobsMetrics(registry);
  const policy = new WebhookAddressPolicy(network);
  const agent = webhookAgent(policy, { connectTimeoutMs: 5_000, resolve });
  const sender = new WebhookSender({
    store: { get: async () => job(url) },
    secrets: { signingSecrets: async () => [secret] },
    policy,
    agent,
    timeoutMs: 5_000,
    metrics,
    logger: silentLogger(),
  });
  try {
    const error = await sender.handle(deliveryMessage()).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    const outcomes = Object.fromEntries(
      (await metrics.webhooks.get()).values.map((value) => [value.labels.outcome, value.value]),
    );
    const refusals = Object.fromEntries(
      (await metrics.webhookRefusals.get()).values.map((value) => [value.labels.kind, value.value]),
    );
    return { error, outcomes, refusals };
  } finally {
    await agent.close();
  }
}

const strict: WebhookNetworkConfig = { allowPrivateNetworks: false, allowedHosts: [] };

describe("webhook delivery and the address policy", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it("refuses a private address by default, like a failed delivery, without connecting", async () => {
    const before = receiver.received.length;
    const result = await send(`http://127.0.0.1:${receiver.port}/hook`, strict);
    expect(result.error).toBeInstanceOf(WebhookRefusedError);
    expect((result.error as WebhookRefusedError).kind).toBe("loopback");
    expect(result.outcomes).toEqual({ refused: 1 });
    expect(result.refusals).toEqual({ loopback: 1 });
    expect(receiver.received.length).toBe(before);
  });

  it("refuses a name that resolves to loopback (localhost) after resolving it", async () => {
    const before = receiver.received.length;
    const result = await send(`http://localhost:${receiver.port}/hook`, strict);
    expect(result.error).toBeDefined();
    const refused = (result.error as Error).cause ?? result.error;
    expect(refused).toBeInstanceOf(WebhookRefusedError);
    expect((refused as WebhookRefusedError).host).toBe("localhost");
    expect(result.outcomes).toEqual({ refused: 1 });
    expect(receiver.received.length).toBe(before);
  });

  it("refuses the metadata address even with private networks allowed", async () => {
    const result = await send("http://169.254.169.254/latest/meta-data/", {
      allowPrivateNetworks: true,
      allowedHosts: [],
    });
    expect(result.error).toBeInstanceOf(WebhookRefusedError);
    expect(result.refusals).toEqual({ "link-local": 1 });
  });

  it("delivers, signed, to an address the configuration allows", async () => {
    for (const network of [
      { allowPrivateNetworks: false, allowedHosts: ["127.0.0.1"] },
      { allowPrivateNetworks: true, allowedHosts: [] },
    ]) {
      const before = receiver.received.length;
      const result = await send(`http://127.0.0.1:${receiver.port}/hook`, network);
      expect(result.error).toBeUndefined();
      expect(result.outcomes).toEqual({ delivered: 1 });
      const delivery = receiver.received[before]!;
      expect(verifyWebhook(secret, delivery.headers["strata-signature"] as string, delivery.body)).toBe(true);
      expect(JSON.parse(delivery.body)).toMatchObject({ type: "job.succeeded", data: { id: "job_webhook" } });
    }
  });

  it("connects to the address it checked: a name is resolved once and refused addresses are dropped", async () => {
    const lookups: string[] = [];
    // The answer names a refused address first; the connection must go to the allowed one.
    const resolve: ResolveHost = async (hostname) => {
      lookups.push(hostname);
      return [
        { address: "10.99.0.1", family: 4 },
        { address: "127.0.0.1", family: 4 },
      ];
    };
    const before = receiver.received.length;
    const result = await send(
      `http://hooks.example.test:${receiver.port}/hook`,
      { allowPrivateNetworks: false, allowedHosts: ["127.0.0.0/8"] },
      resolve,
    );
    expect(result.error).toBeUndefined();
    expect(lookups).toEqual(["hooks.example.test"]);
    expect(receiver.received[before]!.headers.host).toBe(`hooks.example.test:${receiver.port}`);

    // The same name answering only refused addresses is not connected to at all.
    const refused = await send(`http://hooks.example.test:${receiver.port}/hook`, strict, resolve);
    expect(refused.outcomes).toEqual({ refused: 1 });
    expect(refused.refusals).toEqual({ private: 1 });
    expect(receiver.received.length).toBe(before + 1);
  });

  it("does not follow a redirect: a 3xx is a failed delivery", async () => {
    const redirector = await startReceiver(302, { location: `http://127.0.0.1:${receiver.port}/elsewhere` });
    try {
      const before = receiver.received.length;
      const result = await send(`http://127.0.0.1:${redirector.port}/hook`, {
        allowPrivateNetworks: false,
        allowedHosts: ["127.0.0.1"],
      });
      expect((result.error as Error).message).toMatch(/answered HTTP 302/);
      expect(result.outcomes).toEqual({ failed: 1 });
      expect(redirector.received).toHaveLength(1);
      expect(receiver.received.length).toBe(before);
    } finally {
      await redirector.close();
    }
  });
});
