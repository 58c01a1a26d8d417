/**
 * vLLM's block hashes, checked against vectors made by test/support/vllm-hash-vectors.py (Python's
 * pickle and cbor2 over the documented algorithm), and the two encoders against bytes Python wrote.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { blockKeys, type ChainHash } from "../src/kv-events/block-hash-scheme.js";
import { encodeCanonicalCbor } from "../src/kv-events/canonical-cbor.js";
import { normalizeBlockHash } from "../src/kv-events/decode.js";
import { pickleDumps } from "../src/kv-events/python-pickle.js";
import { type VllmHashAlgorithm, vllmBlockHashScheme } from "../src/kv-events/vllm-block-hash.js";

interface Vector {
  algorithm: VllmHashAlgorithm;
  seed: string;
  blockSize: number;
  extraKeys: string[] | null;
  tokens: number[];
  root: string;
  hashes: string[];
  keys: string[];
}

const vectors = JSON.parse(readFileSync(new URL("./support/vllm-hash-vectors.json", import.meta.url), "utf8"))
  .cases as Vector[];

/** The fixture writes digests as hex and 64-bit hashes as decimal, as Python printed them. */
const asText = (hash: ChainHash) =>
  typeof hash === "bigint" ? hash.toString() : Buffer.from(hash).toString("hex");

describe("vLLM block hashes", () => {
  it("has vectors for every algorithm, seed and LoRA case", () => {
    expect(vectors.length).toBe(81);
    expect(new Set(vectors.map((vector) => vector.algorithm))).toEqual(
      new Set(["sha256_cbor", "sha256", "sha256_cbor_64bit"]),
    );
    expect(vectors.some((vector) => vector.extraKeys?.[0]?.length === 300)).toBe(true);
  });

  it("reproduces the root and every chained hash and key of the Python vectors", () => {
    for (const vector of vectors) {
      const plain = vllmBlockHashScheme(vector.algorithm, vector.seed);
      const scheme = vector.extraKeys ? plain.forAdapter?.(vector.extraKeys[0] as string) : plain;
      if (!scheme) throw new Error("vLLM schemes key adapters apart");
      const label = `${vector.algorithm} seed=${vector.seed} block=${vector.blockSize} extra=${vector.extraKeys}`;
      expect(asText(scheme.root), label).toBe(vector.root);
      let parent = scheme.root;
      const hashes: string[] = [];
      for (let start = 0; start + vector.blockSize <= vector.tokens.length; start += vector.blockSize) {
        parent = scheme.next(parent, vector.tokens.slice(start, start + vector.blockSize));
        hashes.push(asText(parent));
      }
      expect(hashes, label).toEqual(vector.hashes);
      const keys = blockKeys(scheme, vector.tokens, vector.blockSize).map(String);
      expect(keys, label).toEqual(vector.keys);
    }
  });

  it("reports keys the way decode.ts reads them from events, as ints or as digest bytes", () => {
    const scheme = vllmBlockHashScheme("sha256_cbor", "0");
    const digest = scheme.next(scheme.root, [1, 2, 3, 4]) as Uint8Array;
    expect(digest.length).toBe(32);
    // VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=1 sends the lower 64 bits; =0 the 32 bytes.
    const asInt = BigInt.asUintN(64, BigInt(`0x${Buffer.from(digest).toString("hex")}`));
    expect(scheme.key(digest)).toBe(asInt);
    expect(normalizeBlockHash(digest)).toBe(scheme.key(digest));
    expect(normalizeBlockHash(asInt)).toBe(scheme.key(digest));
  });

  it("changes every block's key under a LoRA adapter, and differs between algorithms and seeds", () => {
    const tokens = Array.from({ length: 64 }, (_, index) => index * 7);
    const plain = blockKeys(vllmBlockHashScheme("sha256_cbor", "0"), tokens, 16);
    const lora = blockKeys(vllmBlockHashScheme("sha256_cbor", "0", ["sql"]), tokens, 16);
    expect(plain.filter((key, index) => key === lora[index])).toEqual([]);
    expect(blockKeys(vllmBlockHashScheme("sha256", "0"), tokens, 16)).not.toEqual(plain);
    expect(blockKeys(vllmBlockHashScheme("sha256_cbor", "1"), tokens, 16)).not.toEqual(plain);
  });
});

describe("canonical CBOR", () => {
  const hex = (value: Parameters<typeof encodeCanonicalCbor>[0]) =>
    encodeCanonicalCbor(value).toString("hex");

  it("writes what cbor2.dumps(…, canonical=True) writes", () => {
    expect(hex("0")).toBe("6130");
    expect(hex([new Uint8Array([0x61, 0x62]), [], ["x", ["h", 3], -5, new Uint8Array([0x7a])]])).toBe(
      "83426162808461788261680324417a",
    );
    expect(hex([null, [1, 300, 70000, 2 ** 32 + 1], true, false])).toBe(
      "84f6840119012c1a000111701b0000000100000001f5f4",
    );
    expect(hex([23, 24, 255, 256, 65535, 65536, -1, -24, -25, -256, -257])).toBe(
      "8b17181818ff19010019ffff1a000100002037381838ff390100",
    );
    expect(hex(2n ** 64n - 1n)).toBe("1bffffffffffffffff");
    expect(hex("é".repeat(20))).toBe(`7828${"c3a9".repeat(20)}`);
  });

  it("refuses what a block key never holds", () => {
    expect(() => encodeCanonicalCbor(1.5)).toThrow(/safe integer/);
    expect(() => encodeCanonicalCbor(2n ** 64n)).toThrow(/bignum/);
    expect(() => encodeCanonicalCbor({} as never)).toThrow(/unsupported/);
  });
});

describe("Python pickle (protocol 5)", () => {
  const hex = (value: Parameters<typeof pickleDumps>[0]) => pickleDumps(value).toString("hex");
  const parent = Buffer.from("1973e23848344dc43a988a9b478663803cfffe1243480253f9a3cf004b14aa7c", "hex");

  it("writes what CPython's pickle.dumps writes", () => {
    expect(hex("0")).toBe("80059505000000000000008c0130942e");
    expect(hex([parent, [1, 300, 70000, 2 ** 31 - 1, 0, 255, 256, 65535, 65536], null])).toBe(
      `800595480000000000000043${"20"}${parent.toString("hex")}94284b014d2c014a701101004affffff7f4b004bff4d00014dffff4a0000010074944e87942e`,
    );
    expect(hex([parent, [5], ["lora-a"]])).toBe(
      `800595350000000000000043${"20"}${parent.toString("hex")}944b0585948c066c6f72612d6194859487942e`,
    );
    expect(hex([parent, [], null])).toBe(
      `800595280000000000000043${"20"}${parent.toString("hex")}94294e87942e`,
    );
    // Past 255 UTF-8 bytes a str is BINUNICODE with a 4-byte length.
    expect(hex(["a".repeat(300)]).slice(22, 34)).toBe("582c01000061");
    // Fewer than 4 bytes of opcodes get no FRAME.
    expect(hex(null)).toBe("80054e2e");
  });

  it("refuses ints pickle would write as LONG1 and pickles spanning several frames", () => {
    expect(() => pickleDumps([2 ** 31])).toThrow(/32-bit/);
    expect(() => pickleDumps([new Uint8Array(70_000)])).toThrow(/frames/);
  });
});
