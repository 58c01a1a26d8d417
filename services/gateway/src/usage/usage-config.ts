import { jsonSetting } from "@strata/kit";
import { z } from "zod";
import {
  DEFAULT_LEDGER_BACKOFF_MS,
  DEFAULT_LEDGER_BATCH_SIZE,
  DEFAULT_LEDGER_FLUSH_INTERVAL_MS,
  DEFAULT_LEDGER_MAX_DELIVERIES,
} from "./ledger-writer.js";

/**
 * How the usage ledger batches its writes, and how long it retries an event it could not write.
 * Fuller batches cost the database less per event; a shorter wait keeps `gateway.usage_ledger` and
 * `/admin/v1/usage` closer behind the requests (a Postgres of its own can afford it; the embedded one
 * shares the cores with the request path).
 */
export const usageLedgerConfigSchema = z
  .object({
    /** Events written per INSERT at most. */
    batchSize: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_LEDGER_BATCH_SIZE),
    /** Longest an event waits for its batch to fill before the batch is written anyway. */
    flushIntervalMs: z.coerce.number().int().min(1).max(60_000).default(DEFAULT_LEDGER_FLUSH_INTERVAL_MS),
    /** Deliveries of an event the ledger could not write before it is dead-lettered (kind "usage"). */
    maxDeliveries: z.coerce.number().int().min(1).default(DEFAULT_LEDGER_MAX_DELIVERIES),
    /** Waits before redeliveries, in ms (a JSON array; the last repeats). */
    backoffMs: jsonSetting(z.array(z.coerce.number().int().min(1)).min(1)).default([
      ...DEFAULT_LEDGER_BACKOFF_MS,
    ]),
  })
  .strict();

export type UsageLedgerConfig = z.output<typeof usageLedgerConfigSchema>;

export const usageLedgerEnv = {
  "usageLedger.batchSize": "GATEWAY_USAGE_LEDGER_BATCH_SIZE",
  "usageLedger.flushIntervalMs": "GATEWAY_USAGE_LEDGER_FLUSH_INTERVAL_MS",
  "usageLedger.maxDeliveries": "GATEWAY_USAGE_LEDGER_MAX_DELIVERIES",
  "usageLedger.backoffMs": "GATEWAY_USAGE_LEDGER_BACKOFF_MS",
} as const;
