import {
  type Context,
  context,
  propagation,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP collector base URL (OTEL_EXPORTER_OTLP_ENDPOINT); no export when absent. */
  otlpEndpoint?: string | undefined;
  /** Extra processors, e.g. an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[];
}

let provider: NodeTracerProvider | undefined;

/**
 * Installs the process-wide tracer provider once. Context propagation (W3C traceparent) is always on,
 * so traces stay joined across services even when this process exports nothing. In the embedded mode
 * every service shares one process and so one provider; spans still name their service.
 */
export function initTracing(options: TracingOptions): { shutdown(): Promise<void> } {
  if (!provider) {
    const processors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
    if (options.otlpEndpoint) {
      const url = `${options.otlpEndpoint.replace(/\/$/, "")}/v1/traces`;
      processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
    }
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ "service.name": options.serviceName }),
      spanProcessors: processors,
    });
    provider.register({ propagator: new W3CTraceContextPropagator() });
  }
  const current = provider;
  return {
    async shutdown() {
      await current.shutdown();
      if (provider === current) provider = undefined;
    },
  };
}

export function getTracer(name: string): Tracer {
  return trace.getTracer(`strata.${name}`);
}

/** Writes the active trace context into a header map (HTTP headers, gRPC metadata, NATS headers). */
export function injectTraceContext(carrier: Record<string, string>, from: Context = context.active()): void {
  // Without a span or baggage the propagators write nothing; skipping them matters on hot paths.
  if (trace.getSpanContext(from) === undefined && propagation.getBaggage(from) === undefined) return;
  propagation.inject(from, carrier);
}

/** Reads a trace context from incoming headers, to parent the spans of the work they started. */
export function extractTraceContext(carrier: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(context.active(), carrier, {
    get: (headers, key) => headers[key],
    keys: (headers) => Object.keys(headers),
  });
}

/** Runs fn inside a new active span, recording an exception and error status when it throws. */
export async function withSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}
