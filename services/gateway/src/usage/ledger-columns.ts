import type { gatewayEventsV1 } from "@strata/proto";

type UsageEvent = gatewayEventsV1.UsageEvent;

/**
 * A ledger column: the Postgres type of the array it is sent as, that array's literal for a batch of
 * events, and (when the array's type is not the column's) the expression that makes the value.
 */
interface Column {
  name: string;
  type: string;
  literal(events: readonly UsageEvent[]): string;
  select?: string;
}

const needsEscape = /["\\]/;

/** Each value double-quoted, its quotes and backslashes escaped: any text is safe in the literal. */
function textLiteral(values: string[]): string {
  if (values.length === 0) return "{}";
  for (let index = 0; index < values.length; index++)
    if (needsEscape.test(values[index]!)) values[index] = values[index]!.replace(/["\\]/g, "\\$&");
  return `{"${values.join('","')}"}`;
}

const text = (name: string, read: (event: UsageEvent) => string): Column => ({
  name,
  type: "text",
  literal: (events) => textLiteral(events.map(read)),
});

/** Numbers (NaN and ±Infinity are float8 input too), booleans and bigints need no quoting. */
const plain = (
  name: string,
  type: string,
  read: (event: UsageEvent) => number | boolean | bigint,
): Column => ({
  name,
  type,
  literal: (events) => `{${events.map(read).join(",")}}`,
});

const columns: Column[] = [
  text("request_id", (event) => event.requestId),
  text("tenant_id", (event) => event.tenantId),
  text("api_key_id", (event) => event.apiKeyId),
  text("model", (event) => event.model),
  text("served_model", (event) => event.servedModel),
  text("endpoint_id", (event) => event.endpointId),
  text("operation", (event) => event.operation),
  plain("stream", "boolean", (event) => event.stream),
  plain("prompt_tokens", "integer", (event) => event.promptTokens),
  plain("completion_tokens", "integer", (event) => event.completionTokens),
  plain("cached_tokens", "integer", (event) => event.cachedTokens),
  plain("latency_ms", "float8", (event) => event.latencyMs),
  plain("time_to_first_token_ms", "float8", (event) => event.timeToFirstTokenMs),
  plain("status", "integer", (event) => event.status),
  text("error_code", (event) => event.errorCode),
  {
    // Milliseconds since the epoch, made a timestamp exactly (integer arithmetic) by Postgres.
    ...plain("started_at", "bigint", (event) => event.startedAtMs),
    select: "timestamptz 'epoch' + started_at * interval '1 millisecond'",
  },
  text("project_id", (event) => event.projectId),
  plain("cost_usd", "float8", (event) => event.costUsd),
  text("priced_model", (event) => event.pricedModel),
  text("cache_status", (event) => event.cacheStatus),
  plain("cache_saved_prompt_tokens", "integer", (event) => event.cacheSavedPromptTokens),
  plain("cache_saved_completion_tokens", "integer", (event) => event.cacheSavedCompletionTokens),
  plain("cache_saved_cost_usd", "float8", (event) => event.cacheSavedCostUsd),
  text("provider", (event) => event.provider),
  plain("attempts", "integer", (event) => event.attempts),
  plain("fallback_index", "integer", (event) => event.fallbackIndex),
  text("route", (event) => event.route),
  {
    // A text[] per row: unnest would flatten an array of arrays, so each row's goes as its own literal.
    ...text("attempt_errors", (event) => textLiteral([...event.attemptErrors])),
    select: "attempt_errors::text[]",
  },
];

const names = columns.map((column) => column.name).join(",");

/**
 * One statement whatever the batch's size: a parameter per column (an array of every event's
 * value), not one per value. Against a batch spelled out as VALUES it halves the embedded PGlite's
 * time per row, as Postgres parses and plans 28 parameters instead of thousands.
 */
export const ledgerInsertSql = `INSERT INTO gateway.usage_ledger (${names})
  SELECT ${columns.map((column) => column.select ?? column.name).join(",")}
    FROM unnest(${columns.map((column, index) => `$${index + 1}::${column.type}[]`).join(",")}) AS batch(${names})
  ON CONFLICT (request_id) DO NOTHING`;

/**
 * The INSERT's parameters: per column, the array literal of every event's value. Spelled here with
 * one join per column rather than handed to the driver as JavaScript arrays, which it converts value
 * by value at about twice the time, on the event loop that also serves requests.
 */
export function ledgerParams(events: readonly UsageEvent[]): string[] {
  return columns.map((column) => column.literal(events));
}
