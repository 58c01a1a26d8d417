/**
 * vLLM's KV-event wire types (vllm/distributed/kv_events.py) and their msgpack encoding.
 *
 * msgspec encodes these tagged-union Structs in one of two shapes, depending on the vLLM version:
 * - "array" (array_like=True; vLLM 0.9–0.10 and the consumers copied from them: llm-d's kvevents,
 *   Dynamo's zmq listener, vLLM's own kv_events_subscriber example): a batch is
 *   [ts, [event…], data_parallel_rank?], an event is [tag, field…] with the class name as tag,
 *   e.g. ["BlockStored", hashes, parent, tokens, block_size, lora_id, medium, lora_name].
 * - "map" (newer vLLM main, where array_like was dropped): {ts, events, data_parallel_rank?} and
 *   {type: "BlockStored", block_hashes: …}; msgspec's default tag field is "type".
 * We default to "array" because that is what the deployed consumers decode; the router decodes both.
 * omit_defaults drops trailing fields that equal their default (None), so they are not sent.
 *
 * Block hashes go out as unsigned 64-bit ints: vLLM's ExternalBlockHash is `bytes | int` and the
 * int form (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES, the lower 64 bits of the SHA-256 hash) is what
 * it publishes by default; engine-sim's hashes are already 64-bit.
 */
import { Encoder } from "@msgpack/msgpack";
import type { BlockHash } from "../model/block-hash.js";

export type KvEventEncoding = "array" | "map";

export const MEDIUM_GPU = "GPU";

export type KvEvent =
  | {
      type: "BlockStored";
      blockHashes: BlockHash[];
      parentBlockHash: BlockHash | null;
      tokenIds: number[];
      blockSize: number;
      /** Deprecated in vLLM in favour of loraName; engine-sim serves no adapters, so always null. */
      loraId: null;
      medium: string | null;
      loraName: null;
    }
  | { type: "BlockRemoved"; blockHashes: BlockHash[]; medium: string | null }
  | { type: "AllBlocksCleared" };

export interface EventBatch {
  /** Seconds since the epoch, as Python's time.time(). */
  ts: number;
  events: KvEvent[];
  dataParallelRank: number | null;
}

// useBigInt64 writes bigints as msgpack uint64, which msgspec reads back as Python ints.
const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: true });

export function encodeEventBatch(batch: EventBatch, encoding: KvEventEncoding = "array"): Buffer {
  const events = batch.events.map((event) =>
    encoding === "array" ? eventAsArray(event) : eventAsMap(event),
  );
  const body =
    encoding === "array"
      ? dropTrailingNulls([batch.ts, events, batch.dataParallelRank])
      : withoutNulls({ ts: batch.ts, events, data_parallel_rank: batch.dataParallelRank });
  const bytes = encoder.encode(body);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function eventAsArray(event: KvEvent): unknown[] {
  switch (event.type) {
    case "BlockStored":
      // Fields without defaults (through lora_name) are always present, even when None.
      return [
        event.type,
        event.blockHashes,
        event.parentBlockHash,
        event.tokenIds,
        event.blockSize,
        event.loraId,
        event.medium,
        event.loraName,
      ];
    case "BlockRemoved":
      return [event.type, event.blockHashes, event.medium];
    case "AllBlocksCleared":
      return [event.type];
  }
}

function eventAsMap(event: KvEvent): Record<string, unknown> {
  switch (event.type) {
    case "BlockStored":
      return {
        type: event.type,
        block_hashes: event.blockHashes,
        parent_block_hash: event.parentBlockHash,
        token_ids: event.tokenIds,
        block_size: event.blockSize,
        lora_id: event.loraId,
        medium: event.medium,
        lora_name: event.loraName,
      };
    case "BlockRemoved":
      return { type: event.type, block_hashes: event.blockHashes, medium: event.medium };
    case "AllBlocksCleared":
      return { type: event.type };
  }
}

/** omit_defaults for array-like structs: trailing fields equal to their default are left off. */
function dropTrailingNulls(values: unknown[]): unknown[] {
  let end = values.length;
  while (end > 0 && values[end - 1] === null) end--;
  return values.slice(0, end);
}

function withoutNulls(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null));
}

/** The 8-byte big-endian sequence frame, and vLLM's end-of-replay marker (-1). */
export function encodeSequence(seq: bigint): Buffer {
  const frame = Buffer.allocUnsafe(8);
  frame.writeBigInt64BE(seq);
  return frame;
}

export const END_OF_REPLAY = encodeSequence(-1n);
