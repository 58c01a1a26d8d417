import { trace } from "@opentelemetry/api";
import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/** Paths pino blanks out wherever they appear in a log record: credentials never reach the logs. */
const redactPaths = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "apiKey",
  "*.apiKey",
  "password",
  "*.password",
  "secret",
  "*.secret",
  "*.keySecret",
  "*.hashKey",
];

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where records go; defaults to stdout. Tests pass a stream to inspect records. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.service,
      level: options.level ?? "info",
      redact: { paths: redactPaths, censor: "[redacted]" },
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Every record written inside a traced operation carries its ids, so logs and traces join up.
      mixin() {
        const span = trace.getActiveSpan();
        if (!span) return {};
        const { traceId, spanId } = span.spanContext();
        return { trace_id: traceId, span_id: spanId };
      },
    },
    options.destination,
  );
}

/** A logger that drops everything, for tests and benchmarks that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
