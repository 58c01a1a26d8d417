import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { gatewayEventsV1 } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { type UsageEventInit, usageEvent } from "../../src/usage/usage-event.js";

const { UsageEventSchema } = gatewayEventsV1;

describe("usageEvent", () => {
  it("defaults every field as create() does", () => {
    expect(usageEvent({})).toEqual(create(UsageEventSchema, {}));
  });

  it("carries every field of a full init and encodes the same bytes as create()", () => {
    // A value unlike its default for every field, so a field left out or misnamed shows.
    const init: Required<Omit<UsageEventInit, "$typeName" | "$unknown">> = {
      requestId: "req-1",
      tenantId: "t-1",
      apiKeyId: "k-1",
      projectId: "p-1",
      model: "alias",
      servedModel: "served",
      endpointId: "ep-1",
      operation: "chat.completions",
      stream: true,
      promptTokens: 11,
      completionTokens: 7,
      cachedTokens: 3,
      latencyMs: 12.5,
      timeToFirstTokenMs: 4.25,
      status: 200,
      errorCode: "upstream_rejected",
      startedAtMs: 1_700_000_000_000n,
      costUsd: 0.0123,
      pricedModel: "priced",
      inputUsdPerMtok: 1.5,
      outputUsdPerMtok: 2.5,
      cachedInputUsdPerMtok: 0.5,
      provider: "openai",
      attempts: 2,
      fallbackIndex: 1,
      route: "rule:cheap",
      attemptErrors: ["openai: 500"],
      cacheStatus: "miss",
      cacheSavedPromptTokens: 5,
      cacheSavedCompletionTokens: 6,
      cacheSavedCostUsd: 0.001,
      cacheSimilarity: 0.97,
    };
    const event = usageEvent(init);
    const created = create(UsageEventSchema, init);
    expect(event).toEqual(created);
    expect(toBinary(UsageEventSchema, event)).toEqual(toBinary(UsageEventSchema, created));
    expect(fromBinary(UsageEventSchema, toBinary(UsageEventSchema, event))).toEqual(created);
    // Every declared field is set, so none was forgotten in the literal.
    for (const field of UsageEventSchema.fields) expect(event).toHaveProperty(field.localName);
  });

  it("copies the attempt errors rather than sharing the caller's array", () => {
    const attemptErrors = ["a"];
    const event = usageEvent({ attemptErrors });
    attemptErrors.push("b");
    expect(event.attemptErrors).toEqual(["a"]);
  });
});
