/**
 * A paged KV cache with prefix caching, after vLLM v1's BlockPool / KVCacheManager.
 *
 * - A fixed number of blocks. A block holding a sequence's tokens is referenced (pinned) while any
 *   running sequence uses it.
 * - Unreferenced blocks sit in a free queue ordered for eviction (head = least recently freed). A
 *   freed block keeps its hash, so a later prompt with the same prefix can reuse it; it is evicted
 *   (its hash forgotten) only when the allocator takes it from the head of the queue.
 * - Usage, as vLLM reports it, is 1 - free/capacity: cached-but-unreferenced blocks count as free.
 */
import type { BlockHash } from "./block-hash.js";

export interface KvBlock {
  readonly id: number;
  hash: BlockHash | null;
  refCount: number;
  /** Model time at which the block's KV is computed; a hit on a block still being prefilled waits for it. */
  readyAt: number;
}

export interface KvCacheOptions {
  capacityBlocks: number;
  enablePrefixCaching?: boolean;
  /** Hashes forgotten by one allocation, in eviction order (feeds vLLM-style BlockRemoved events). */
  onEvicted?(hashes: BlockHash[]): void;
}

export class KvCache {
  readonly capacity: number;
  readonly enablePrefixCaching: boolean;
  /** Insertion-ordered: iteration order is eviction order (LRU first). */
  private readonly freeQueue = new Map<number, KvBlock>();
  private readonly cached = new Map<BlockHash, KvBlock>();
  private evictedBlocks = 0;
  private readonly onEvicted: ((hashes: BlockHash[]) => void) | undefined;

  constructor(options: KvCacheOptions) {
    this.onEvicted = options.onEvicted;
    if (!Number.isInteger(options.capacityBlocks) || options.capacityBlocks <= 0) {
      throw new Error(`capacityBlocks must be a positive integer, got ${options.capacityBlocks}`);
    }
    this.capacity = options.capacityBlocks;
    this.enablePrefixCaching = options.enablePrefixCaching ?? true;
    for (let id = 0; id < this.capacity; id++) {
      this.freeQueue.set(id, { id, hash: null, refCount: 0, readyAt: 0 });
    }
  }

  get freeBlocks(): number {
    return this.freeQueue.size;
  }

  get usedBlocks(): number {
    return this.capacity - this.freeQueue.size;
  }

  /** Blocks whose content is addressable by hash (pinned or not). */
  get cachedBlocks(): number {
    return this.cached.size;
  }

  get evictions(): number {
    return this.evictedBlocks;
  }

  /** Fraction of blocks in use by running sequences, 0..1 (vllm:kv_cache_usage_perc). */
  usage(): number {
    return this.usedBlocks / this.capacity;
  }

  /** The longest run of leading `hashes` present in the cache, at most `maxBlocks` long. */
  lookup(hashes: readonly BlockHash[], maxBlocks = hashes.length): KvBlock[] {
    if (!this.enablePrefixCaching) return [];
    const hits: KvBlock[] = [];
    const limit = Math.min(maxBlocks, hashes.length);
    for (let index = 0; index < limit; index++) {
      const block = this.cached.get(hashes[index] as BlockHash);
      if (!block) break;
      hits.push(block);
    }
    return hits;
  }

  /** Whether `count` new blocks can be allocated after pinning `hits` (hits in the free queue don't count). */
  canAllocate(hits: readonly KvBlock[], count: number): boolean {
    let available = this.freeQueue.size;
    for (const block of hits) if (block.refCount === 0) available--;
    return available >= count;
  }

  /** Pins cache hits: takes them out of the free queue so they cannot be evicted. */
  acquire(blocks: readonly KvBlock[]): void {
    for (const block of blocks) {
      if (block.refCount === 0) this.freeQueue.delete(block.id);
      block.refCount++;
    }
  }

  /** Takes `count` blocks from the head of the free queue, evicting their cached content. */
  allocate(count: number, readyAt: number): KvBlock[] {
    if (count > this.freeQueue.size) {
      throw new Error(`cannot allocate ${count} blocks: only ${this.freeQueue.size} free`);
    }
    const blocks: KvBlock[] = [];
    for (const block of this.freeQueue.values()) {
      if (blocks.length === count) break;
      blocks.push(block);
    }
    const evicted: BlockHash[] = [];
    for (const block of blocks) {
      this.freeQueue.delete(block.id);
      if (block.hash !== null) {
        if (this.cached.get(block.hash) === block) {
          this.cached.delete(block.hash);
          evicted.push(block.hash);
        }
        block.hash = null;
        this.evictedBlocks++;
      }
      block.refCount = 1;
      block.readyAt = readyAt;
    }
    if (evicted.length > 0) this.onEvicted?.(evicted);
    return blocks;
  }

  /**
   * Makes a full block addressable by its hash. If another block already holds the same content
   * (two sequences computed it concurrently) the first one stays canonical, as in vLLM.
   * Returns whether the hash became newly addressable (what a BlockStored event reports).
   */
  register(block: KvBlock, hash: BlockHash): boolean {
    if (!this.enablePrefixCaching || block.hash !== null) return false;
    if (this.cached.has(hash)) return false;
    block.hash = hash;
    this.cached.set(hash, block);
    return true;
  }

  /**
   * Unpins a sequence's blocks. They are queued in reverse order so that a sequence's tail blocks
   * (least likely to be shared) are evicted before its head blocks.
   */
  release(blocks: readonly KvBlock[]): void {
    for (let index = blocks.length - 1; index >= 0; index--) {
      const block = blocks[index] as KvBlock;
      if (block.refCount <= 0) throw new Error(`block ${block.id} released more often than acquired`);
      block.refCount--;
      if (block.refCount === 0) this.freeQueue.set(block.id, block);
    }
  }
}
