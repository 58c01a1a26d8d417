import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { BroadcastSubscription, Bus, Counter, Logger } from "@strata/kit";
import { apiKeyChangedSubject, gatewayEventsV1 } from "@strata/proto";
import type { ApiKeyStore } from "./api-key-store.js";

export interface KeyChange {
  apiKeyId: string;
  tenantId: string;
}

export interface KeyInvalidationOptions {
  bus: Pick<Bus, "broadcast" | "subscribe">;
  keys: Pick<ApiKeyStore, "forget">;
  logger: Pick<Logger, "warn">;
  /** Counts broadcasts that could not be sent; those replicas catch up when their cache entry expires. */
  failures?: Pick<Counter, "inc">;
}

/**
 * Keeps every gateway replica's key cache honest: a revoked, rotated or edited key is dropped here at once
 * and announced on the bus (NATS core, at most once), so the other replicas drop it too. A replica that
 * misses the announcement still stops trusting its entry when the cache's short TTL runs out.
 */
export class KeyInvalidation {
  private subscription: BroadcastSubscription | undefined;

  constructor(private readonly options: KeyInvalidationOptions) {}

  start(): void {
    this.subscription = this.options.bus.subscribe(apiKeyChangedSubject, (_subject, data) => {
      try {
        this.options.keys.forget(fromBinary(gatewayEventsV1.ApiKeyChangedSchema, data).apiKeyId);
      } catch (error) {
        this.options.logger.warn({ err: error }, "undecodable key-change broadcast ignored");
      }
    });
  }

  /** Call after the change is committed: forgets the key here and tells the other replicas. */
  keyChanged(change: KeyChange): void {
    this.options.keys.forget(change.apiKeyId);
    try {
      const message = create(gatewayEventsV1.ApiKeyChangedSchema, change);
      this.options.bus.broadcast(
        apiKeyChangedSubject,
        toBinary(gatewayEventsV1.ApiKeyChangedSchema, message),
      );
    } catch (error) {
      this.options.failures?.inc();
      this.options.logger.warn(
        { err: error, apiKeyId: change.apiKeyId },
        "key change could not be broadcast",
      );
    }
  }

  stop(): void {
    this.subscription?.stop();
    this.subscription = undefined;
  }
}
