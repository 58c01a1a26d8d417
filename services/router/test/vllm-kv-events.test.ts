/**
 * vLLM's KV events over a real ZMQ socket, in the newest wire shape (msgspec maps tagged by "type",
 * 32-byte digests as block hashes): their blocks land in the index under the keys the router's vLLM
 * hasher computes for the same tokens, and an engine storing blocks of another size is reported.
 */
import { Encoder } from "@msgpack/msgpack";
import { silentLogger } from "@strata/kit";
import { waitFor } from "@strata/kit/testing";
import { PubSocket } from "@strata/kit/zmq";
import { afterEach, describe, expect, it } from "vitest";
import { BlockIndex, KvEventSubscriber, vllmBlockHashScheme } from "../src/kv-events/index.js";

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const encoder = new Encoder({ useBigInt64: true });
const seqFrame = (seq: number) => {
  const frame = Buffer.alloc(8);
  frame.writeBigInt64BE(BigInt(seq));
  return frame;
};

/** A BlockStored batch as vLLM main encodes it (map-shaped, omit_defaults), hashes as digest bytes. */
function storedBatch(digests: Uint8Array[], tokens: number[], blockSize: number): Buffer {
  const event = {
    type: "BlockStored",
    block_hashes: digests,
    parent_block_hash: null,
    token_ids: tokens,
    block_size: blockSize,
    lora_id: null,
    medium: "GPU",
    lora_name: null,
  };
  return Buffer.from(encoder.encode({ ts: 1.5, events: [event], data_parallel_rank: 0 }));
}

describe("vLLM KV events", () => {
  it("index the digest-bytes hashes under the keys the vLLM hasher computes, and flag a block size mismatch", async () => {
    const pub = await PubSocket.bind("tcp://127.0.0.1:0");
    closers.push(() => pub.close());
    const index = new BlockIndex();
    const warnings: string[] = [];
    const logger = silentLogger();
    logger.warn = ((_: unknown, message: string) => {
      warnings.push(message);
    }) as typeof logger.warn;
    const subscriber = new KvEventSubscriber(
      "vllm-a",
      { endpoint: `tcp://127.0.0.1:${pub.port}`, topic: "" },
      { index, logger },
      { blockSize: 4, reconnectMinMs: 20 },
    );
    closers.push(() => subscriber.close());
    await waitFor(() => subscriber.connected, { timeoutMs: 5_000, intervalMs: 10 });

    const scheme = vllmBlockHashScheme("sha256_cbor", "0");
    const tokens = [9, 8, 7, 6, 5, 4, 3, 2];
    const first = scheme.next(scheme.root, tokens.slice(0, 4)) as Uint8Array;
    const second = scheme.next(first, tokens.slice(4)) as Uint8Array;
    let seq = 0;
    // A SUB socket misses what was sent before its subscription reached the PUB: send until seen.
    await waitFor(
      () => {
        pub.send([Buffer.alloc(0), seqFrame(seq++), storedBatch([first, second], tokens, 4)]);
        return index.blockCount("vllm-a") === 2;
      },
      { timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(index.holds(scheme.key(first))).toBe(true);
    expect(index.longestPrefixMatch([scheme.key(first), scheme.key(second)]).get("vllm-a")).toBe(2);
    expect(warnings).toEqual([]);

    pub.send([Buffer.alloc(0), seqFrame(seq++), storedBatch([second], tokens, 8)]);
    pub.send([Buffer.alloc(0), seqFrame(seq++), storedBatch([second], tokens, 8)]);
    await waitFor(() => subscriber.stats.blockSizeMismatches === 2, { timeoutMs: 5_000, intervalMs: 10 });
    expect(warnings).toEqual([
      "engine stores KV blocks of another size than kvEvents.blockSize: no prompt will match its blocks",
    ]);
  });
});
