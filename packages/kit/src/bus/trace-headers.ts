import { context, propagation } from "@opentelemetry/api";

/**
 * Trace context rides in message headers (W3C `traceparent`/`tracestate` with the propagator the
 * kit installs globally), so a consumer's spans join the publisher's trace. Only @opentelemetry/api
 * is used: without a registered propagator both functions are no-ops.
 */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
  const carrier = { ...headers };
  propagation.inject(context.active(), carrier);
  return carrier;
}

export function withExtractedTraceContext<T>(headers: Record<string, string>, fn: () => T): T {
  return context.with(propagation.extract(context.active(), headers), fn);
}
