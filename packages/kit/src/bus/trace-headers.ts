import { context, propagation } from "@opentelemetry/api";
import { injectTraceContext } from "../tracing/tracing.js";

/**
 * Trace context rides in message headers (W3C `traceparent`/`tracestate` with the propagator the
 * kit installs globally), so a consumer's spans join the publisher's trace. Without a registered
 * propagator both functions are no-ops.
 */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
  const carrier = { ...headers };
  injectTraceContext(carrier);
  return carrier;
}

export function withExtractedTraceContext<T>(headers: Record<string, string>, fn: () => T): T {
  // Nothing to extract (the common case without tracing): run in the current context as it is.
  if (headers.traceparent === undefined && headers.baggage === undefined) return fn();
  return context.with(propagation.extract(context.active(), headers), fn);
}
