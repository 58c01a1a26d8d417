import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { waitFor } from "@strata/kit/testing";
import { adminRequest, type TestStack } from "./local-stack.js";

export interface JobJson {
  id: string;
  object: "job";
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  attempts: number;
  endpoint: string;
  model: string;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  cancelled_at: number | null;
  result: { status_code: number; request_id: string | null; body: unknown } | null;
  error: { code: string; message: string } | null;
  metadata: Record<string, string> | null;
  webhook_url: string | null;
}

/** Authenticated request to the gateway with an API key (the stack's dev key unless given). */
export function gatewayRequest(stack: TestStack, apiKey = stack.apiKey) {
  return (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(stack.gatewayUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
}

/** A new tenant with one API key, through the admin API; returns the key's secret. */
export async function newTenantKey(stack: TestStack): Promise<{ tenantId: string; apiKey: string }> {
  const tenant = (await (
    await adminRequest(stack, "POST", "/tenants", { name: `tenant-${randomUUID().slice(0, 8)}` })
  ).json()) as { id: string };
  const key = (await (
    await adminRequest(stack, "POST", "/keys", { tenant_id: tenant.id, name: "jobs-test" })
  ).json()) as { secret: string };
  return { tenantId: tenant.id, apiKey: key.secret };
}

/** Polls GET /v1/jobs/{id} until `done` holds for the job. */
export async function pollJob(
  stack: TestStack,
  id: string,
  done: (job: JobJson) => boolean = (job) => ["succeeded", "failed", "cancelled"].includes(job.status),
  timeoutMs = 30_000,
): Promise<JobJson> {
  let job: JobJson | undefined;
  await waitFor(
    async () => {
      const response = await gatewayRequest(stack)("GET", `/v1/jobs/${id}`);
      job = (await response.json()) as JobJson;
      return done(job);
    },
    {
      timeoutMs,
      intervalMs: 100,
      message: `job ${id} to reach the expected state (last: ${JSON.stringify(job)})`,
    },
  );
  return job!;
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP server that records webhook POSTs, answering each with the next status in `statuses` (then 200). */
export async function startWebhookReceiver(statuses: number[] = []): Promise<{
  url: string;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}> {
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
