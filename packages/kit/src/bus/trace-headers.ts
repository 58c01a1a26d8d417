import { context, propagation, trace } from "@opentelemetry/api";

/**
 * Trace context rides in message headers (W3C `traceparent`/`tracestate` with the propagator the
 * kit installs globally), so a consumer's spans join the publisher's trace. Only @opentelemetry/api
 * is used: without a registered propagator both functions are no-ops.
 */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
  const carrier = { ...headers };
  const active = context.active();
  // Without a span or baggage the propagators write nothing; asking them costs a share of a publish.
  if (trace.getSpanContext(active) === undefined && propagation.getBaggage(active) === undefined)
    return carrier;
  propagation.inject(active, carrier);
  return carrier;
}

export function withExtractedTraceContext<T>(headers: Record<string, string>, fn: () => T): T {
  // Nothing to extract (the common case without tracing): run in the current context as it is.
  if (headers.traceparent === undefined && headers.baggage === undefined) return fn();
  return context.with(propagation.extract(context.active(), headers), fn);
}
