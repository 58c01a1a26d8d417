import { randomUUID } from "node:crypto";
import { context, trace } from "@opentelemetry/api";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryBus } from "../src/bus/memory-bus.js";
import { createNatsBus } from "../src/bus/nats-bus.js";
import type { Bus } from "../src/bus/types.js";
import { type NatsServerHandle, startNatsServer } from "../src/testing/nats-server.js";
import { waitFor } from "../src/testing/wait-for.js";

// This file owns its process (vitest forks per file), so registering the global provider — as the
// kit's tracing set-up does in a service — affects no other test.
const provider = new NodeTracerProvider();
provider.register();

let server: NatsServerHandle;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(() => server?.stop());

describe.each([
  { name: "memory", create: async (): Promise<Bus> => createMemoryBus() },
  { name: "nats", create: () => createNatsBus({ url: server.url, name: "trace-test" }) },
])("$name bus trace propagation", ({ create }) => {
  it("runs the handler inside the publisher's trace", async () => {
    const bus = await create();
    const id = randomUUID().slice(0, 8);
    await bus.ensureStream({ name: `TR_${id}`, subjects: [`tr.${id}`] });
    const tracer = trace.getTracer("bus-trace-test");
    const publisherTraceId = await tracer.startActiveSpan("publish", async (span) => {
      await bus.publish(`tr.${id}`, new Uint8Array([1]));
      span.end();
      return span.spanContext().traceId;
    });
    const handlerTraceIds: (string | undefined)[] = [];
    const headers: Record<string, string>[] = [];
    const subscription = await bus.consume({ stream: `TR_${id}`, durable: "reader" }, async (message) => {
      headers.push(message.headers);
      handlerTraceIds.push(trace.getSpanContext(context.active())?.traceId);
    });
    await waitFor(() => handlerTraceIds.length === 1);
    await subscription.stop();
    await bus.close();
    expect(headers[0]?.traceparent).toContain(publisherTraceId);
    expect(handlerTraceIds).toEqual([publisherTraceId]);
  });
});
