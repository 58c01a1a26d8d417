/**
 * JetStream consumer advisories: the server publishes one on core NATS when a consumer gives up on a
 * message (max deliveries reached) or a handler terminates one. A stream whose subjects capture them
 * keeps them durably, which is how a dead-letter queue is fed without losing an advisory while no
 * listener runs. The in-process bus publishes the same subjects and payloads.
 */

export type ConsumerAdvisoryKind = "MAX_DELIVERIES" | "MSG_TERMINATED";

const ADVISORY_TYPES: Record<ConsumerAdvisoryKind, string> = {
  MAX_DELIVERIES: "io.nats.jetstream.advisory.v1.max_deliver",
  MSG_TERMINATED: "io.nats.jetstream.advisory.v1.terminated",
};

/** `$JS.EVENT.ADVISORY.CONSUMER.<kind>.<stream>.<consumer>`; `*` for every consumer of the stream. */
export function consumerAdvisorySubject(kind: ConsumerAdvisoryKind, stream: string, consumer = "*"): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.${kind}.${stream}.${consumer}`;
}

/** The fields both advisories carry (JetStream's JSON names). */
export interface ConsumerAdvisory {
  type: string;
  stream: string;
  consumer: string;
  /** Sequence of the message in its stream: read it back with `Bus.getMessage`. */
  stream_seq: number;
  deliveries: number;
}

/** Parses an advisory payload; undefined when it is not a consumer advisory about a message. */
export function parseConsumerAdvisory(data: Uint8Array): ConsumerAdvisory | undefined {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  const advisory = json as Partial<ConsumerAdvisory> | null;
  if (
    !advisory ||
    typeof advisory.stream !== "string" ||
    typeof advisory.consumer !== "string" ||
    typeof advisory.stream_seq !== "number" ||
    !Number.isInteger(advisory.stream_seq)
  )
    return undefined;
  return {
    type: String(advisory.type ?? ""),
    stream: advisory.stream,
    consumer: advisory.consumer,
    stream_seq: advisory.stream_seq,
    deliveries: Number(advisory.deliveries ?? 0),
  };
}

/** The payload JetStream would send, for the in-process bus. */
export function consumerAdvisoryPayload(
  kind: ConsumerAdvisoryKind,
  fields: {
    stream: string;
    consumer: string;
    streamSeq: number;
    deliveries: number;
    id: string;
    now: number;
  },
): Uint8Array {
  const advisory = {
    type: ADVISORY_TYPES[kind],
    id: fields.id,
    timestamp: new Date(fields.now).toISOString(),
    stream: fields.stream,
    consumer: fields.consumer,
    stream_seq: fields.streamSeq,
    deliveries: fields.deliveries,
  };
  return new TextEncoder().encode(JSON.stringify(advisory));
}
