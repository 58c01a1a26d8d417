import { z } from "zod";
import { DEFAULT_LEDGER_BATCH_SIZE, DEFAULT_LEDGER_FLUSH_INTERVAL_MS } from "./ledger-writer.js";

/**
 * How the usage ledger batches its writes. Fuller batches cost the database less per event; a shorter
 * wait keeps `gateway.usage_ledger` and `/admin/v1/usage` closer behind the requests (a Postgres of
 * its own can afford it; the embedded one shares the cores with the request path).
 */
export const usageLedgerConfigSchema = z
  .object({
    /** Events written per INSERT at most. */
    batchSize: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_LEDGER_BATCH_SIZE),
    /** Longest an event waits for its batch to fill before the batch is written anyway. */
    flushIntervalMs: z.coerce.number().int().min(1).max(60_000).default(DEFAULT_LEDGER_FLUSH_INTERVAL_MS),
  })
  .strict();

export type UsageLedgerConfig = z.output<typeof usageLedgerConfigSchema>;

export const usageLedgerEnv = {
  "usageLedger.batchSize": "GATEWAY_USAGE_LEDGER_BATCH_SIZE",
  "usageLedger.flushIntervalMs": "GATEWAY_USAGE_LEDGER_FLUSH_INTERVAL_MS",
} as const;
