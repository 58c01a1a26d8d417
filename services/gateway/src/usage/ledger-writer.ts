import { fromBinary } from "@bufbuild/protobuf";
import type { Bus, BusMessage, Database, Logger, Subscription } from "@strata/kit";
import { gatewayEventsV1, usageStream } from "@strata/proto";
import { ledgerInsertSql, ledgerParams } from "./ledger-columns.js";

type UsageEvent = gatewayEventsV1.UsageEvent;

export interface LedgerWriterOptions {
  bus: Bus;
  db: Database;
  logger: Logger;
  /**
   * Events written per INSERT (default 1,000); batching keeps the ledger ahead of thousands of
   * requests a second.
   */
  batchSize?: number;
  /**
   * Longest an event waits for its batch to fill (default 1 s); the ledger trails requests by up to
   * this much. Each INSERT costs the database a statement and a commit whatever its size (about
   * 1 ms in the embedded PGlite, plus about 30 µs a row), so a longer wait writes fewer, fuller batches.
   */
  flushIntervalMs?: number;
  /** Deliveries of an event before it is dead-lettered (default 100: about 8 hours with the back-off). */
  maxDeliveries?: number;
  /** Wait before each redelivery of an event not written, by delivery (the last one repeats). */
  backoffMs?: readonly number[];
}

/**
 * A second and a thousand rows, not 100 ms and 200: at about 1,100 requests a second, the embedded
 * PGlite's thread spent 47-62 µs of CPU per request on ledger writes with the smaller batches and
 * 38-46 µs with these, and its bursts, competing for the cores with the request path, added less to
 * the gateway's slowest requests (`pnpm bench gateway`, see bench/RESULTS.md). Smaller batches (20 ms)
 * cost more: 80-90 µs a request.
 */
export const DEFAULT_LEDGER_BATCH_SIZE = 1_000;
export const DEFAULT_LEDGER_FLUSH_INTERVAL_MS = 1_000;

/**
 * Long enough to ride out a Postgres outage of hours without anyone's help (the stream keeps events
 * for a week); an event still not written then (Postgres refuses its values) is dead-lettered, kind
 * "usage", where an admin lists and replays it (`/admin/v1/dead-letters`).
 */
export const DEFAULT_LEDGER_MAX_DELIVERIES = 100;
export const DEFAULT_LEDGER_BACKOFF_MS: readonly number[] = [1_000, 5_000, 15_000, 60_000, 300_000];

/**
 * Consumes usage events and writes them to gateway.usage_ledger. A message is acked only after its
 * batch is committed; a redelivered event hits the primary key and changes nothing.
 */
export class LedgerWriter {
  private batch: { event: UsageEvent; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private subscription: Subscription | undefined;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;

  constructor(private readonly options: LedgerWriterOptions) {
    this.batchSize = options.batchSize ?? DEFAULT_LEDGER_BATCH_SIZE;
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_LEDGER_FLUSH_INTERVAL_MS;
  }

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
    this.subscription = await this.options.bus.consume(
      {
        stream: usageStream.name,
        durable: "gateway-usage-ledger",
        concurrency: this.batchSize * 2,
        maxDeliver: this.options.maxDeliveries ?? DEFAULT_LEDGER_MAX_DELIVERIES,
        backoffMs: [...(this.options.backoffMs ?? DEFAULT_LEDGER_BACKOFF_MS)],
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
      this.batch.push({ event, resolve, reject });
      if (this.batch.length >= this.batchSize) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
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
    if (failed.size > 0) {
      const [requestId, error] = failed.entries().next().value!;
      // Once per flush, however many events failed: a database that is down fails them all.
      this.options.logger.warn(
        { err: error, failed: failed.size, events: unique.size, requestId },
        "usage ledger write failed; the events not written will be redelivered",
      );
    }
    for (const entry of batch) {
      const error = failed.get(entry.event.requestId);
      if (error) entry.reject(error);
      else entry.resolve();
    }
  }

  /**
   * Writes events and answers the error of each one not written, by request id. When Postgres
   * refuses a batch (a value out of range, say), each event is tried alone, so one bad event does
   * not hold back the rest of its batch until they all run out of deliveries.
   */
  private async write(events: UsageEvent[]): Promise<Map<string, unknown>> {
    try {
      await this.options.db.query(ledgerInsertSql, ledgerParams(events));
      return new Map();
    } catch (error) {
      if (events.length === 1 || !refusedByDatabase(error))
        return new Map(events.map((event) => [event.requestId, error]));
      const failed = new Map<string, unknown>();
      for (const event of events)
        for (const [requestId, eventError] of await this.write([event])) failed.set(requestId, eventError);
      return failed;
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
