import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { routerSyncV1 } from "@strata/proto";
import { protoOutcome, routingOutcome } from "../routing/routing-outcome.js";
import type { RoutingReport, RoutingRequest } from "../scoring/strategy.js";

/** One event as the router hands it over: a committed decision or a first Report. */
export type SyncEntry =
  | { readonly request: RoutingRequest; readonly endpointId: string }
  | { readonly report: RoutingReport; readonly model: string };

export interface BatchHeader {
  originReplicaId: string;
  originStartedAtMs: number;
  firstSequence: number;
  oldestEventAtMs: number;
}

type EventInit = MessageInitShape<typeof routerSyncV1.SyncEventSchema>;

export function encodeBatch(header: BatchHeader, entries: readonly SyncEntry[], maxPromptChars: number) {
  const batch = create(routerSyncV1.SyncBatchSchema, {
    originReplicaId: header.originReplicaId,
    originStartedAtMs: BigInt(header.originStartedAtMs),
    firstSequence: BigInt(header.firstSequence),
    oldestEventAtMs: BigInt(header.oldestEventAtMs),
    events: entries.map((entry) => toEvent(entry, maxPromptChars)),
  });
  return toBinary(routerSyncV1.SyncBatchSchema, batch);
}

/**
 * The bytes every batch from `replicaId` starts with (field 1, written first), so a replica can skip
 * its own batches, which NATS echoes back, without decoding them.
 */
export function originPrefix(replicaId: string): Uint8Array {
  return toBinary(
    routerSyncV1.SyncBatchSchema,
    create(routerSyncV1.SyncBatchSchema, { originReplicaId: replicaId }),
  );
}

export function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  if (data.length < prefix.length) return false;
  for (let index = 0; index < prefix.length; index++) if (data[index] !== prefix[index]) return false;
  return true;
}

/** Throws on bytes that are not a SyncBatch. */
export function decodeBatch(data: Uint8Array): routerSyncV1.SyncBatch {
  return fromBinary(routerSyncV1.SyncBatchSchema, data);
}

function toEvent(entry: SyncEntry, maxPromptChars: number): EventInit {
  if ("request" in entry) {
    const { request } = entry;
    return {
      kind: {
        case: "routed",
        value: {
          requestId: request.requestId,
          model: request.model,
          endpointId: entry.endpointId,
          tenantId: request.tenantId,
          prompt: cutPrompt(request.prompt, maxPromptChars),
          promptChars: request.prompt.length,
          promptTokens: request.promptTokens,
          adapter: request.adapter ?? "",
        },
      },
    };
  }
  const { report } = entry;
  return {
    kind: {
      case: "reported",
      value: {
        requestId: report.requestId,
        model: entry.model,
        endpointId: report.endpointId,
        outcome: protoOutcome(report.outcome),
        promptTokens: report.promptTokens,
        cachedTokens: report.cachedTokens,
      },
    },
  };
}

/**
 * Keeps the leading characters, never splitting a surrogate pair: a lone half would be re-encoded
 * as U+FFFD on the way and change the hash of the last block peers see.
 */
export function cutPrompt(prompt: string, maxChars: number): string {
  if (prompt.length <= maxChars) return prompt;
  const last = prompt.charCodeAt(maxChars - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? maxChars - 1 : maxChars;
  return prompt.slice(0, end);
}

/** The request a peer's strategies saw, as far as the event carries it (the prompt may be cut). */
export function toRoutingRequest(event: routerSyncV1.RoutedEvent): RoutingRequest {
  const request: RoutingRequest = {
    requestId: event.requestId,
    model: event.model,
    tenantId: event.tenantId,
    prompt: event.prompt,
    promptTokens: event.promptTokens,
  };
  if (event.adapter !== "") request.adapter = event.adapter;
  return request;
}

export function toRoutingReport(event: routerSyncV1.ReportedEvent): RoutingReport {
  return {
    requestId: event.requestId,
    endpointId: event.endpointId,
    promptTokens: event.promptTokens,
    cachedTokens: event.cachedTokens,
    outcome: routingOutcome(event.outcome),
  };
}
