import { eventually } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageEventInit } from "../../src/usage/usage-recorder.js";
import { type LedgerHarness, startLedgerHarness } from "./ledger-harness.js";

let ledger: LedgerHarness;

beforeAll(async () => {
  // Batches of 50: 120 events are written as two full batches and one the timer flushes.
  ledger = await startLedgerHarness({ batchSize: 50, flushIntervalMs: 20 });
});
afterAll(() => ledger?.close());

const startedAt = Date.UTC(2034, 0, 2, 3, 4, 5, 678);

function event(tenantId: string, index: number): UsageEventInit {
  return {
    requestId: `req-${tenantId}-${index}`,
    tenantId,
    apiKeyId: `key-${index % 3}`,
    projectId: index % 2 ? "proj" : "",
    model: "alias",
    servedModel: `served-${index}`,
    endpointId: `engine-${index % 4}`,
    operation: index % 5 ? "chat.completions" : "embeddings",
    stream: index % 2 === 0,
    promptTokens: 1000 + index,
    completionTokens: index,
    cachedTokens: index % 7,
    latencyMs: index + 0.125,
    timeToFirstTokenMs: index / 3,
    status: index % 10 ? 200 : 502,
    errorCode: index % 10 ? "" : "upstream_error",
    startedAtMs: BigInt(startedAt + index),
    costUsd: index * 1e-7 + 0.1 + 0.2,
    pricedModel: "served",
    cacheStatus: ["miss", "hit", "semantic-hit"][index % 3]!,
    cacheSavedPromptTokens: index % 3 ? index : 0,
    cacheSavedCompletionTokens: index % 3 ? 2 * index : 0,
    cacheSavedCostUsd: index % 3 ? index / 1e6 : 0,
    provider: index % 2 ? "engine" : "oai",
    attempts: 1 + (index % 3),
    fallbackIndex: index % 2,
    route: `kv-aware; i=${index}`,
    attemptErrors: index % 4 ? [] : [`a, "quoted" {${index}}`, "back\\slash", ""],
  };
}

describe("the ledger writer", () => {
  it("writes every column of every event, batch after batch, exactly as recorded", async () => {
    const tenant = `ten-${Date.now().toString(36)}`;
    const events = Array.from({ length: 120 }, (_, index) => event(tenant, index));
    for (const usage of events) ledger.recorder.record(usage);
    let rows: Record<string, unknown>[] = [];
    await eventually(
      async () => {
        const result = await ledger.database.db.query(
          "SELECT * FROM gateway.usage_ledger WHERE tenant_id = $1 ORDER BY started_at",
          [tenant],
        );
        rows = result.rows;
        expect(rows).toHaveLength(events.length);
      },
      { timeoutMs: 15_000 },
    );
    rows.forEach((row, index) => {
      const sent = events[index]!;
      expect(row).toMatchObject({
        request_id: sent.requestId,
        tenant_id: tenant,
        api_key_id: sent.apiKeyId,
        project_id: sent.projectId,
        model: "alias",
        served_model: sent.servedModel,
        endpoint_id: sent.endpointId,
        operation: sent.operation,
        stream: sent.stream,
        prompt_tokens: sent.promptTokens,
        completion_tokens: sent.completionTokens,
        cached_tokens: sent.cachedTokens,
        latency_ms: sent.latencyMs,
        time_to_first_token_ms: sent.timeToFirstTokenMs,
        status: sent.status,
        error_code: sent.errorCode,
        cost_usd: sent.costUsd,
        priced_model: "served",
        cache_status: sent.cacheStatus,
        cache_saved_prompt_tokens: sent.cacheSavedPromptTokens,
        cache_saved_completion_tokens: sent.cacheSavedCompletionTokens,
        cache_saved_cost_usd: sent.cacheSavedCostUsd,
        provider: sent.provider,
        attempts: sent.attempts,
        fallback_index: sent.fallbackIndex,
        route: sent.route,
        attempt_errors: sent.attemptErrors,
      });
      expect((row.started_at as Date).getTime()).toBe(startedAt + index);
    });
  });

  it("stores the rest of a batch when Postgres refuses one of its events", async () => {
    const tenant = `ten-bad-${Date.now().toString(36)}`;
    const good = [event(tenant, 1), event(tenant, 2)];
    // Larger than a Postgres integer: the batch's single INSERT fails on this row.
    const bad = { ...event(tenant, 3), promptTokens: 3_000_000_000 };
    ledger.recorder.record(good[0]!);
    ledger.recorder.record(bad);
    ledger.recorder.record(good[1]!);
    await eventually(
      async () => {
        const result = await ledger.database.db.query(
          "SELECT request_id FROM gateway.usage_ledger WHERE tenant_id = $1 ORDER BY request_id",
          [tenant],
        );
        expect(result.rows.map((row) => row.request_id)).toEqual(good.map((usage) => usage.requestId));
      },
      { timeoutMs: 15_000 },
    );
  });
});
