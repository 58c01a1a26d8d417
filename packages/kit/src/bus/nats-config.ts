import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { BUS_DEFAULTS, type ConsumerSpec, type StreamSpec } from "./types.js";

const RETENTION: Record<NonNullable<StreamSpec["retention"]>, RetentionPolicy> = {
  limits: RetentionPolicy.Limits,
  workqueue: RetentionPolicy.Workqueue,
  interest: RetentionPolicy.Interest,
};

export function toStreamConfig(spec: StreamSpec): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: spec.subjects,
    retention: RETENTION[spec.retention ?? "limits"],
    storage: StorageType.File, // "durable publish" means it survives a server restart
    max_age: nanos(spec.maxAgeMs ?? 0), // 0 = unlimited
    max_msgs: spec.maxMsgs ?? -1,
    duplicate_window: nanos(spec.duplicateWindowMs ?? BUS_DEFAULTS.duplicateWindowMs),
  };
}

/**
 * Explicit acks with a durable name, so a restarted subscriber continues where the last one left
 * off. `backoffMs` is applied by the client on `nak` rather than as JetStream's `backoff`, which
 * only governs ack-wait timeouts and would also override `ack_wait`.
 */
export function toConsumerConfig(spec: ConsumerSpec): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ...(spec.filterSubject !== undefined ? { filter_subject: spec.filterSubject } : {}),
    max_deliver: spec.maxDeliver ?? -1,
    ack_wait: nanos(spec.ackWaitMs ?? BUS_DEFAULTS.ackWaitMs),
  };
}

export function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.status === 404;
}

/** JetStream's "no message found" (err_code 10037 on get, 10057 on delete). */
export function isNoMessage(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === 10037 || error.code === 10057);
}
