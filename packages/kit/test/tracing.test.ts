import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { routerV1 } from "@strata/proto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createGrpcClient,
  extractTraceContext,
  GrpcServer,
  getTracer,
  initTracing,
  injectTraceContext,
  silentLogger,
  withSpan,
} from "../src/index.js";

describe("trace context crosses process boundaries", () => {
  const exporter = new InMemorySpanExporter();
  const tracing = initTracing({ serviceName: "test", spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = getTracer("test");
  const server = new GrpcServer({ logger: silentLogger(), registry: new Registry() });
  let address = "";

  beforeAll(async () => {
    server.add(routerV1.RouterService, {
      route: async () => ({ model: "m" }),
      report: async () => ({}),
      listModels: async () => ({ models: [] }),
      async *routeStream() {},
    });
    address = `127.0.0.1:${await server.listen("127.0.0.1", 0)}`;
  });
  afterAll(async () => {
    await server.close(100);
    await tracing.shutdown();
  });

  it("joins a gRPC server span to the caller's trace", async () => {
    const client = createGrpcClient(routerV1.RouterService, address);
    const traceId = await withSpan(tracer, "caller", {}, async (span) => {
      await client.route({ requestId: "r", model: "m" });
      return span.spanContext().traceId;
    });
    client.close();
    const serverSpan = exporter
      .getFinishedSpans()
      .find((span) => span.name === "strata.router.v1.RouterService/Route");
    expect(serverSpan?.spanContext().traceId).toBe(traceId);
    expect(serverSpan?.attributes["rpc.method"]).toBe("Route");
  });

  it("round-trips through header maps (HTTP headers, NATS headers)", async () => {
    const headers: Record<string, string> = {};
    const traceId = await withSpan(tracer, "producer", {}, async (span) => {
      injectTraceContext(headers);
      return span.spanContext().traceId;
    });
    expect(headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const child = await withSpan(
      tracer,
      "consumer",
      {},
      async (span) => span.spanContext().traceId,
      extractTraceContext(headers),
    );
    expect(child).toBe(traceId);
  });
});
