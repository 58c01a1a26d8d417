import type { MessageInitShape } from "@bufbuild/protobuf";
import type { gatewayEventsV1 } from "@strata/proto";

export type UsageEventInit = MessageInitShape<typeof gatewayEventsV1.UsageEventSchema>;

/**
 * A UsageEvent as one object literal, every field defaulted as create() would. create() adds the
 * fields one at a time, which leaves the object in V8's dictionary mode (a 1.6 KB property table)
 * and costs about 30 µs a request with the copy that used to get it back into fast mode; the
 * ledger holds each event for up to a second, so its size matters too. Typed as the full message:
 * a field added to the proto fails to compile here until it is given a default.
 */
export function usageEvent(init: UsageEventInit): gatewayEventsV1.UsageEvent {
  return {
    $typeName: "strata.gateway.v1.UsageEvent",
    requestId: init.requestId ?? "",
    tenantId: init.tenantId ?? "",
    apiKeyId: init.apiKeyId ?? "",
    projectId: init.projectId ?? "",
    model: init.model ?? "",
    servedModel: init.servedModel ?? "",
    endpointId: init.endpointId ?? "",
    operation: init.operation ?? "",
    stream: init.stream ?? false,
    promptTokens: init.promptTokens ?? 0,
    completionTokens: init.completionTokens ?? 0,
    cachedTokens: init.cachedTokens ?? 0,
    latencyMs: init.latencyMs ?? 0,
    timeToFirstTokenMs: init.timeToFirstTokenMs ?? 0,
    status: init.status ?? 0,
    errorCode: init.errorCode ?? "",
    startedAtMs: init.startedAtMs ?? 0n,
    costUsd: init.costUsd ?? 0,
    pricedModel: init.pricedModel ?? "",
    inputUsdPerMtok: init.inputUsdPerMtok ?? 0,
    outputUsdPerMtok: init.outputUsdPerMtok ?? 0,
    cachedInputUsdPerMtok: init.cachedInputUsdPerMtok ?? 0,
    provider: init.provider ?? "",
    attempts: init.attempts ?? 0,
    fallbackIndex: init.fallbackIndex ?? 0,
    route: init.route ?? "",
    attemptErrors: init.attemptErrors ? [...init.attemptErrors] : [],
    cacheStatus: init.cacheStatus ?? "",
    cacheSavedPromptTokens: init.cacheSavedPromptTokens ?? 0,
    cacheSavedCompletionTokens: init.cacheSavedCompletionTokens ?? 0,
    cacheSavedCostUsd: init.cacheSavedCostUsd ?? 0,
    cacheSimilarity: init.cacheSimilarity ?? 0,
  };
}
