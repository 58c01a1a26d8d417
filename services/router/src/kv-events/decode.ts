/**
 * Decoding of vLLM KV-event batches (see engine-sim's kv-events/event-batch.ts for the format).
 * Lenient by design, because vLLM versions differ: batches and events may be msgpack arrays
 * (array_like, tag first) or maps (tag in "type"); trailing optional fields may be absent; block
 * hashes may be ints (possibly negative: Python's hash() in old versions) or SHA-256 bytes.
 * Every hash is normalised to an unsigned 64-bit bigint: for bytes, the lower 64 bits read
 * big-endian, the same reduction vLLM applies when it publishes int hashes.
 */
import { decode } from "@msgpack/msgpack";

export type DecodedKvEvent =
  | {
      type: "BlockStored";
      blockHashes: bigint[];
      parentBlockHash: bigint | null;
      tokenIds: number[];
      blockSize: number;
      medium: string | null;
    }
  | { type: "BlockRemoved"; blockHashes: bigint[]; medium: string | null }
  | { type: "AllBlocksCleared" }
  /** A tag this router does not know (a newer vLLM); skipped, never fatal. */
  | { type: "unknown"; tag: string };

export interface DecodedBatch {
  ts: number;
  events: DecodedKvEvent[];
  dataParallelRank: number | null;
}

export function decodeEventBatch(payload: Uint8Array): DecodedBatch {
  const raw = decode(payload, { useBigInt64: true });
  const fields = Array.isArray(raw) ? { ts: raw[0], events: raw[1], rank: raw[2] } : fromMap(raw);
  if (typeof fields.ts !== "number" || !Array.isArray(fields.events)) {
    throw new Error("not a KV EventBatch (expected [ts, events, rank?] or {ts, events})");
  }
  return {
    ts: fields.ts,
    events: fields.events.map(decodeEvent),
    dataParallelRank: fields.rank === undefined || fields.rank === null ? null : Number(fields.rank),
  };
}

function fromMap(raw: unknown): { ts: unknown; events: unknown; rank: unknown } {
  if (typeof raw !== "object" || raw === null) return { ts: undefined, events: undefined, rank: undefined };
  const record = raw as Record<string, unknown>;
  return { ts: record.ts, events: record.events, rank: record.data_parallel_rank };
}

const FIELD_ORDER: Readonly<Record<string, readonly string[]>> = {
  BlockStored: ["block_hashes", "parent_block_hash", "token_ids", "block_size", "lora_id", "medium"],
  BlockRemoved: ["block_hashes", "medium"],
  AllBlocksCleared: [],
};

function decodeEvent(raw: unknown): DecodedKvEvent {
  let tag: unknown;
  let get: (name: string) => unknown;
  if (Array.isArray(raw)) {
    tag = raw[0];
    const order = FIELD_ORDER[String(tag)] ?? [];
    get = (name) => raw[1 + order.indexOf(name)];
  } else if (typeof raw === "object" && raw !== null) {
    const record = raw as Record<string, unknown>;
    tag = record.type;
    get = (name) => record[name];
  } else {
    throw new Error("KV event is neither an array nor a map");
  }
  switch (tag) {
    case "BlockStored":
      return {
        type: "BlockStored",
        blockHashes: hashList(get("block_hashes")),
        parentBlockHash: optionalHash(get("parent_block_hash")),
        tokenIds: (get("token_ids") as unknown[] | undefined)?.map(Number) ?? [],
        blockSize: Number(get("block_size")),
        medium: optionalString(get("medium")),
      };
    case "BlockRemoved":
      return {
        type: "BlockRemoved",
        blockHashes: hashList(get("block_hashes")),
        medium: optionalString(get("medium")),
      };
    case "AllBlocksCleared":
      return { type: "AllBlocksCleared" };
    default:
      return { type: "unknown", tag: String(tag) };
  }
}

export function normalizeBlockHash(value: unknown): bigint {
  if (typeof value === "bigint") return BigInt.asUintN(64, value);
  if (typeof value === "number" && Number.isInteger(value)) return BigInt.asUintN(64, BigInt(value));
  if (value instanceof Uint8Array) {
    let hash = 0n;
    for (const byte of value.subarray(Math.max(0, value.length - 8))) hash = (hash << 8n) | BigInt(byte);
    return hash;
  }
  throw new Error(`unsupported block hash ${String(value)}`);
}

function hashList(value: unknown): bigint[] {
  if (!Array.isArray(value)) throw new Error("block_hashes is not a list");
  return value.map(normalizeBlockHash);
}

function optionalHash(value: unknown): bigint | null {
  return value === null || value === undefined ? null : normalizeBlockHash(value);
}

function optionalString(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
