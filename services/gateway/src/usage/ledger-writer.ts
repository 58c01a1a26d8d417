import { fromBinary } from "@bufbuild/protobuf";
import type { Bus, BusMessage, Database, Logger, Subscription } from "@strata/kit";
import { gatewayEventsV1, usageStream } from "@strata/proto";

type UsageEvent = gatewayEventsV1.UsageEvent;

/** Each ledger column and the Postgres type its values are sent as (one array per column). */
const columns = [
  ["request_id", "text"],
  ["tenant_id", "text"],
  ["api_key_id", "text"],
  ["model", "text"],
  ["served_model", "text"],
  ["endpoint_id", "text"],
  ["operation", "text"],
  ["stream", "boolean"],
  ["prompt_tokens", "integer"],
  ["completion_tokens", "integer"],
  ["cached_tokens", "integer"],
  ["latency_ms", "float8"],
  ["time_to_first_token_ms", "float8"],
  ["status", "integer"],
  ["error_code", "text"],
  ["started_at", "timestamptz"],
  ["project_id", "text"],
  ["cost_usd", "float8"],
  ["priced_model", "text"],
  ["cache_status", "text"],
  ["cache_saved_prompt_tokens", "integer"],
  ["cache_saved_completion_tokens", "integer"],
  ["cache_saved_cost_usd", "float8"],
  ["provider", "text"],
  ["attempts", "integer"],
  ["fallback_index", "integer"],
  ["route", "text"],
  // A text[] per row; unnest would flatten an array of arrays, so each row's goes as its literal.
  ["attempt_errors", "text"],
] as const;

const names = columns.map(([name]) => name).join(",");
/**
 * One statement whatever the batch's size: a parameter per column, not per value. Against a batch
 * spelled out as VALUES it halves the embedded PGlite's time per row (no parse and plan of thousands
 * of parameters) and leaves the gateway's event loop a few arrays to fill instead of a long SQL text.
 */
const insertSql = `INSERT INTO gateway.usage_ledger (${names})
  SELECT ${names.replace("attempt_errors", "attempt_errors::text[]")}
    FROM unnest(${columns.map(([, type], index) => `$${index + 1}::${type}[]`).join(",")}) AS batch(${names})
  ON CONFLICT (request_id) DO NOTHING`;

function values(event: UsageEvent): unknown[] {
  return [
    event.requestId,
    event.tenantId,
    event.apiKeyId,
    event.model,
    event.servedModel,
    event.endpointId,
    event.operation,
    event.stream,
    event.promptTokens,
    event.completionTokens,
    event.cachedTokens,
    event.latencyMs,
    event.timeToFirstTokenMs,
    event.status,
    event.errorCode,
    new Date(Number(event.startedAtMs)),
    event.projectId,
    event.costUsd,
    event.pricedModel,
    event.cacheStatus,
    event.cacheSavedPromptTokens,
    event.cacheSavedCompletionTokens,
    event.cacheSavedCostUsd,
    event.provider,
    event.attempts,
    event.fallbackIndex,
    event.route,
    textArrayLiteral(event.attemptErrors),
  ];
}

/** The column-wise parameters of one INSERT: the i-th array holds every event's i-th value. */
function ledgerParams(events: Iterable<UsageEvent>): unknown[][] {
  const params: unknown[][] = columns.map(() => []);
  for (const event of events) {
    const row = values(event);
    for (let index = 0; index < row.length; index++) params[index]!.push(row[index]);
  }
  return params;
}

/** A Postgres text[] literal: every element quoted, its quotes and backslashes escaped. */
function textArrayLiteral(items: readonly string[]): string {
  if (items.length === 0) return "{}";
  return `{${items.map((item) => `"${item.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;
}

export interface LedgerWriterOptions {
  bus: Bus;
  db: Database;
  logger: Logger;
  /** Events written per INSERT; batching keeps the ledger ahead of thousands of requests a second. */
  batchSize?: number;
  /**
   * Longest an event waits for its batch to fill. Each INSERT costs the database a statement and a
   * commit whatever its size (about 3 ms in the embedded PGlite), so a longer wait writes fewer,
   * fuller batches; the ledger then trails requests by up to this much.
   */
  flushIntervalMs?: number;
}

/**
 * Consumes usage events and writes them to gateway.usage_ledger. A message is acked only after its
 * batch is committed; a redelivered event hits the primary key and changes nothing.
 */
export class LedgerWriter {
  private batch: { event: UsageEvent; done: (error?: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private subscription: Subscription | undefined;

  constructor(private readonly options: LedgerWriterOptions) {}

  async start(): Promise<void> {
    // Interest retention: an event leaves the stream once every consumer (today the ledger) acked it,
    // so a long-running process keeps only what is still owed to Postgres.
    await this.options.bus.ensureStream({
      name: usageStream.name,
      subjects: [...usageStream.subjects],
      retention: "interest",
      maxAgeMs: 7 * 24 * 3600_000,
      // Only the recorder's own retries (under 7 s in all) can repeat a request id; the ledger's key
      // catches anything later. A shorter window than JetStream's two minutes keeps a quarter of the ids.
      duplicateWindowMs: 30_000,
    });
    const batchSize = this.options.batchSize ?? 200;
    this.subscription = await this.options.bus.consume(
      {
        stream: usageStream.name,
        durable: "gateway-usage-ledger",
        concurrency: batchSize * 2,
        maxDeliver: 20,
        ackWaitMs: 30_000,
      },
      (message) => this.handle(message),
    );
  }

  private handle(message: BusMessage): Promise<void> {
    let event: UsageEvent;
    try {
      event = decodedEvent(message.decoded) ?? fromBinary(gatewayEventsV1.UsageEventSchema, message.data);
    } catch (error) {
      this.options.logger.error({ err: error, subject: message.subject }, "undecodable usage event dropped");
      message.term();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.batch.push({ event, done: (error) => (error ? reject(error) : resolve()) });
      if (this.batch.length >= (this.options.batchSize ?? 200)) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.options.flushIntervalMs ?? 100);
    });
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    // Two deliveries of one event can share a batch; Postgres refuses a row conflicting with itself.
    const unique = new Map(batch.map((entry) => [entry.event.requestId, entry.event]));
    const failed = await this.write([...unique.values()]);
    for (const entry of batch) entry.done(failed.get(entry.event.requestId));
  }

  /**
   * Writes events and answers the error of each one not written, by request id. When Postgres
   * refuses a batch (a value out of range, say), each event is tried alone, so one bad event does
   * not hold back the rest of its batch until they all run out of deliveries.
   */
  private async write(events: UsageEvent[]): Promise<Map<string, unknown>> {
    try {
      await this.options.db.query(insertSql, ledgerParams(events));
      return new Map();
    } catch (error) {
      if (events.length > 1 && refusedByDatabase(error)) {
        const failed = new Map<string, unknown>();
        for (const event of events)
          for (const [requestId, eventError] of await this.write([event])) failed.set(requestId, eventError);
        return failed;
      }
      this.options.logger.warn(
        {
          err: error,
          events: events.length,
          requestId: events.length === 1 ? events[0]!.requestId : undefined,
        },
        "usage ledger write failed; events will be redelivered",
      );
      return new Map(events.map((event) => [event.requestId, error]));
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.subscription?.stop(), this.flush()]);
  }
}

/** An error Postgres answered with (a SQLSTATE), rather than a lost connection. */
function refusedByDatabase(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
}

/** The publisher's own event when it never left the process: no bytes to decode. */
function decodedEvent(decoded: unknown): UsageEvent | undefined {
  return (decoded as UsageEvent | undefined)?.$typeName === gatewayEventsV1.UsageEventSchema.typeName
    ? (decoded as UsageEvent)
    : undefined;
}
