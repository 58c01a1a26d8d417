import { describe, expect, it } from "vitest";
import {
  extendBlockHashes,
  formatBlockHash,
  hashBlock,
  hashTokenBlocks,
  rootBlockHash,
} from "../src/model/block-hash.js";

const tokens = (count: number, offset = 0) =>
  Array.from({ length: count }, (_, index) => 1000 + index + offset);

describe("block hashing", () => {
  it("hashes only full blocks", () => {
    expect(hashTokenBlocks(tokens(15), { blockSize: 16 })).toHaveLength(0);
    expect(hashTokenBlocks(tokens(16), { blockSize: 16 })).toHaveLength(1);
    expect(hashTokenBlocks(tokens(47), { blockSize: 16 })).toHaveLength(2);
  });

  it("chains each block onto its parent", () => {
    const hashes = hashTokenBlocks(tokens(48), { blockSize: 16, seed: "7" });
    expect(hashes[0]).toBe(hashBlock(rootBlockHash("7"), tokens(16)));
    expect(hashes[1]).toBe(hashBlock(hashes[0] as bigint, tokens(16, 16)));
    expect(hashes[2]).toBe(hashBlock(hashes[1] as bigint, tokens(16, 32)));
  });

  it("shares hashes for a shared prefix and diverges for every block after a difference", () => {
    const a = tokens(64);
    const b = [...a];
    b[20] = 42; // inside block 1
    const hashesA = hashTokenBlocks(a);
    const hashesB = hashTokenBlocks(b);
    expect(hashesB[0]).toBe(hashesA[0]);
    for (let block = 1; block < 4; block++) expect(hashesB[block]).not.toBe(hashesA[block]);
  });

  it("depends on position: the same block after a different prefix hashes differently", () => {
    const block = tokens(16);
    const first = hashTokenBlocks([...block, ...block]);
    expect(first[0]).not.toBe(first[1]);
  });

  it("changes with the seed and the extra key", () => {
    expect(hashTokenBlocks(tokens(16), { seed: "0" })[0]).not.toBe(
      hashTokenBlocks(tokens(16), { seed: "1" })[0],
    );
    expect(hashTokenBlocks(tokens(16), { extraKey: "lora-a" })[0]).not.toBe(hashTokenBlocks(tokens(16))[0]);
  });

  it("extends incrementally to the same result and formats as 16 hex digits", () => {
    const all = tokens(80);
    const partial = hashTokenBlocks(all.slice(0, 40));
    expect(extendBlockHashes(partial, all)).toEqual(hashTokenBlocks(all));
    const hash = hashTokenBlocks(all)[0] as bigint;
    expect(formatBlockHash(hash)).toMatch(/^[0-9a-f]{16}$/);
    expect(hash).toBeLessThan(2n ** 64n);
  });
});
