import { describe, expect, it } from "vitest";
import { KvCache } from "../src/model/kv-cache.js";

describe("KvCache", () => {
  it("serves the longest cached prefix of hashes", () => {
    const cache = new KvCache({ capacityBlocks: 8 });
    const blocks = cache.allocate(3, 0);
    blocks.forEach((block, index) => {
      cache.register(block, BigInt(index + 1));
    });
    expect(cache.lookup([1n, 2n, 3n]).map((block) => block.id)).toEqual(blocks.map((block) => block.id));
    expect(cache.lookup([1n, 9n, 3n])).toHaveLength(1);
    expect(cache.lookup([1n, 2n, 3n], 2)).toHaveLength(2);
  });

  it("counts referenced blocks as used and keeps freed blocks cached until evicted", () => {
    const cache = new KvCache({ capacityBlocks: 4 });
    const blocks = cache.allocate(2, 0);
    cache.register(blocks[0]!, 10n);
    expect(cache.usage()).toBe(0.5);
    cache.release(blocks);
    expect(cache.usage()).toBe(0);
    expect(cache.lookup([10n])).toHaveLength(1);
  });

  it("evicts unreferenced blocks in LRU order and never pinned ones", () => {
    const cache = new KvCache({ capacityBlocks: 3 });
    const [a, b, c] = cache.allocate(3, 0);
    cache.register(a!, 1n);
    cache.register(b!, 2n);
    cache.register(c!, 3n);
    cache.release([a!]); // a is least recently freed
    cache.release([c!]);
    // b stays pinned. Reusing c's content moves it out of the free queue again.
    cache.acquire(cache.lookup([3n]));
    expect(cache.canAllocate([], 2)).toBe(false);
    const [fresh] = cache.allocate(1, 0);
    expect(fresh!.id).toBe(a!.id);
    expect(cache.lookup([1n])).toHaveLength(0);
    expect(cache.lookup([2n])).toHaveLength(1);
    expect(cache.lookup([3n])).toHaveLength(1);
    expect(cache.evictions).toBe(1);
    expect(() => cache.allocate(1, 0)).toThrow(/only 0 free/);
  });

  it("frees a sequence's blocks tail first so its head outlives its tail", () => {
    const cache = new KvCache({ capacityBlocks: 3 });
    const blocks = cache.allocate(3, 0);
    blocks.forEach((block, index) => {
      cache.register(block, BigInt(index + 1));
    });
    cache.release(blocks);
    cache.allocate(1, 0);
    expect(cache.lookup([1n, 2n, 3n])).toHaveLength(2);
  });

  it("does not count hits that sit in the free queue as allocatable", () => {
    const cache = new KvCache({ capacityBlocks: 2 });
    const blocks = cache.allocate(2, 0);
    cache.register(blocks[0]!, 1n);
    cache.release(blocks);
    const hits = cache.lookup([1n]);
    expect(cache.canAllocate(hits, 1)).toBe(true);
    expect(cache.canAllocate(hits, 2)).toBe(false);
  });

  it("serves nothing when prefix caching is off", () => {
    const cache = new KvCache({ capacityBlocks: 2, enablePrefixCaching: false });
    const [block] = cache.allocate(1, 0);
    cache.register(block!, 1n);
    expect(cache.lookup([1n])).toHaveLength(0);
  });
});
