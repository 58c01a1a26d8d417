import { fromBinary } from "@bufbuild/protobuf";
import type { Bus, BusMessage, Database, Logger, Subscription } from "@strata/kit";
import { gatewayEventsV1, usageStream } from "@strata/proto";

type UsageEvent = gatewayEventsV1.UsageEvent;

const columns = [
  "request_id",
  "tenant_id",
  "api_key_id",
  "model",
  "served_model",
  "endpoint_id",
  "operation",
  "stream",
  "prompt_tokens",
  "completion_tokens",
  "cached_tokens",
  "latency_ms",
  "time_to_first_token_ms",
  "status",
  "error_code",
  "started_at",
  "project_id",
  "cost_usd",
  "priced_model",
  "cache_status",
  "cache_saved_prompt_tokens",
  "cache_saved_completion_tokens",
  "cache_saved_cost_usd",
  "provider",
  "attempts",
  "fallback_index",
  "route",
  "attempt_errors",
] as const;

function row(event: UsageEvent): unknown[] {
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
    // A text[]: pg sends a JavaScript array as a Postgres array literal, quoting each line.
    event.attemptErrors,
  ];
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
    const params: unknown[] = [];
    const tuples = [...unique.values()].map((event) => {
      const values = row(event);
      const placeholders = values.map((value) => `$${params.push(value)}`);
      return `(${placeholders.join(",")})`;
    });
    try {
      await this.options.db.query(
        `INSERT INTO gateway.usage_ledger (${columns.join(",")}) VALUES ${tuples.join(",")} ON CONFLICT (request_id) DO NOTHING`,
        params,
      );
      for (const entry of batch) entry.done();
    } catch (error) {
      this.options.logger.warn(
        { err: error, events: batch.length },
        "usage ledger write failed; events will be redelivered",
      );
      for (const entry of batch) entry.done(error);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.subscription?.stop(), this.flush()]);
  }
}

/** The publisher's own event when it never left the process: no bytes to decode. */
function decodedEvent(decoded: unknown): UsageEvent | undefined {
  return (decoded as UsageEvent | undefined)?.$typeName === gatewayEventsV1.UsageEventSchema.typeName
    ? (decoded as UsageEvent)
    : undefined;
}
