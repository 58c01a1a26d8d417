import { encode } from "@msgpack/msgpack";
import { hashTokenBlocks } from "@strata/engine-sim";
import { describe, expect, it } from "vitest";
import {
  BlockIndex,
  createPrecise,
  createSimTokenize,
  decodeEventBatch,
  normalizeBlockHash,
} from "../src/kv-events/index.js";
import { createCandidate } from "../src/scoring/candidate.js";

const chain = (prefix: number, length: number) =>
  Array.from({ length }, (_, index) => BigInt(prefix * 1_000_000 + index));

describe("BlockIndex", () => {
  it("returns each endpoint's unbroken run of leading blocks", () => {
    const index = new BlockIndex();
    const blocks = chain(1, 6);
    index.add("a", blocks.slice(0, 4));
    index.add("b", blocks.slice(0, 2));
    index.add("c", blocks.slice(1, 6)); // misses the first block: no prefix hit at all
    index.add("d", [blocks[0] as bigint, blocks[2] as bigint]); // a hole after block 0
    expect(Object.fromEntries(index.longestPrefixMatch(blocks))).toEqual({ a: 4, b: 2, d: 1 });
  });

  it("forgets removed blocks, and everything of an endpoint on clear", () => {
    const index = new BlockIndex();
    const blocks = chain(2, 3);
    index.add("a", blocks);
    index.add("b", blocks);
    index.remove("a", [blocks[1] as bigint]);
    expect(Object.fromEntries(index.longestPrefixMatch(blocks))).toEqual({ a: 1, b: 3 });
    index.clear("b");
    expect(index.blockCount("b")).toBe(0);
    expect(Object.fromEntries(index.longestPrefixMatch(blocks))).toEqual({ a: 1 });
    index.removeEndpoint("a");
    expect(index.size).toBe(0);
    expect(index.longestPrefixMatch(blocks).size).toBe(0);
  });

  // Decision latency is measured by bench/ (pnpm bench routing), never by timed assertions here.
  it("routes each request to an endpoint holding its prefix with 64 endpoints and 100k blocks", () => {
    const index = new BlockIndex();
    const tokenize = createSimTokenize();
    // 64 endpoints × 1600 blocks ≈ 100k tracked blocks; 16 shared system prompts spread over them.
    const prompts = Array.from(
      { length: 16 },
      (_, app) =>
        `<s><|system|>\n${Array.from({ length: 300 }, (_, word) => `app${app}w${word}`).join(" ")}<|end|>\n`,
    );
    for (let endpoint = 0; endpoint < 64; endpoint++) {
      const shared = hashTokenBlocks(tokenize(prompts[endpoint % 16] as string));
      index.add(`e${endpoint}`, shared);
      index.add(`e${endpoint}`, chain(endpoint + 10, 1600 - shared.length));
    }
    expect(index.size).toBeGreaterThan(95_000);
    // Prompts are tokenized up front: this measures hashing, the index and scoring. engine-sim's
    // toy tokenizer allocates ~200 bytes per token, and its garbage (not the index) is what would
    // dominate the tail on a busy machine; a production tokenizer is a separate cost.
    const requests = Array.from({ length: 2500 }, (_, request) => {
      const prompt = `${prompts[request % 16]}<|user|>\nquestion ${request} about the document<|end|>\n<|assistant|>\n`;
      return { prompt, tokens: tokenize(prompt) };
    });
    const tokensOf = new Map(requests.map(({ prompt, tokens }) => [prompt, tokens]));
    const strategy = createPrecise(
      {},
      { index, tokenize: (prompt) => tokensOf.get(prompt) ?? tokenize(prompt) },
    );
    const candidates = Array.from({ length: 64 }, (_, endpoint) =>
      createCandidate({ id: `e${endpoint}`, model: "m", inFlight: endpoint % 5 }),
    );
    for (let request = 0; request < 2500; request++) {
      const { prompt } = requests[request] as { prompt: string };
      const decision = strategy.decide(
        { requestId: `r${request}`, model: "m", tenantId: "t", prompt, promptTokens: 0 },
        candidates,
      );
      expect(Number(decision.chosen.endpoint.id.slice(1)) % 16).toBe(request % 16);
    }
  });
});

describe("decodeEventBatch", () => {
  it("reads the array_like form with the class name as first element", () => {
    const payload = encode(
      [
        1.5,
        [
          ["BlockStored", [1n, 2n], null, [1, 2], 16, null, "GPU", null],
          ["BlockRemoved", [3n], "GPU"],
          ["AllBlocksCleared"],
        ],
        0,
      ],
      { useBigInt64: true },
    );
    expect(decodeEventBatch(payload)).toEqual({
      ts: 1.5,
      dataParallelRank: 0,
      events: [
        {
          type: "BlockStored",
          blockHashes: [1n, 2n],
          parentBlockHash: null,
          tokenIds: [1, 2],
          blockSize: 16,
          medium: "GPU",
        },
        { type: "BlockRemoved", blockHashes: [3n], medium: "GPU" },
        { type: "AllBlocksCleared" },
      ],
    });
  });

  it("reads the map form, omitted trailing fields, negative ints and SHA-256 bytes", () => {
    const sha = Buffer.alloc(32, 0);
    sha.writeBigUInt64BE(0xdeadbeefn, 24);
    const payload = encode({
      ts: 2,
      events: [
        {
          type: "BlockStored",
          block_hashes: [-1, sha],
          parent_block_hash: 7,
          token_ids: [5],
          block_size: 1,
          lora_id: null,
          medium: null,
          lora_name: null,
        },
        { type: "SomethingNew", x: 1 },
      ],
    });
    const batch = decodeEventBatch(payload);
    expect(batch.dataParallelRank).toBeNull();
    expect(batch.events[0]).toMatchObject({
      blockHashes: [2n ** 64n - 1n, 0xdeadbeefn],
      parentBlockHash: 7n,
      medium: null,
    });
    expect(batch.events[1]).toEqual({ type: "unknown", tag: "SomethingNew" });
    expect(normalizeBlockHash(new Uint8Array([1, 0]))).toBe(256n);
  });

  it("rejects payloads that are not batches", () => {
    expect(() => decodeEventBatch(encode("hello"))).toThrow(/not a KV EventBatch/);
  });
});
