/**
 * Which endpoints recently received which prompt blocks: an approximation of each engine's prefix
 * cache built from routing history (GIE's and llm-d's approximate prefix scorers), bounded per
 * endpoint by an LRU sized like the engine's KV cache so the index forgets about when the engine does.
 *
 * Layout, chosen for a fast longest-prefix match over all endpoints at once:
 * - `owners`: block hash → slots of the endpoints holding it (a short array; a block rarely lives on
 *   more than a few endpoints, and an array is far smaller than a Set);
 * - `lru[slot]`: that endpoint's block hashes in recency order (a Set iterates in insertion order, so
 *   delete + add is a touch and the first element is the least recently used).
 */
export class PrefixIndex {
  private readonly slotById = new Map<string, number>();
  private readonly ids: (string | undefined)[] = [];
  private readonly lru: Set<number>[] = [];
  private readonly capacity: number[] = [];
  private readonly owners = new Map<number, number[]>();
  private readonly freeSlots: number[] = [];

  constructor(private readonly defaultCapacityBlocks: number) {}

  /** The endpoint's slot, created on first sight. Slots are small integers for array indexing. */
  slotOf(endpointId: string): number {
    let slot = this.slotById.get(endpointId);
    if (slot !== undefined) return slot;
    slot = this.freeSlots.pop() ?? this.ids.length;
    this.slotById.set(endpointId, slot);
    this.ids[slot] = endpointId;
    this.lru[slot] = new Set();
    this.capacity[slot] = this.defaultCapacityBlocks;
    return slot;
  }

  /** Number of slots ever created; a bound for per-slot scratch arrays. */
  get slotCount(): number {
    return this.ids.length;
  }

  setCapacity(endpointId: string, blocks: number): void {
    const slot = this.slotOf(endpointId);
    if (this.capacity[slot] === blocks) return;
    this.capacity[slot] = Math.max(1, Math.floor(blocks));
    this.evict(slot);
  }

  capacityOf(endpointId: string): number {
    return this.capacity[this.slotOf(endpointId)]!;
  }

  /**
   * Longest cached prefix per slot, written into `matched` (length ≥ slotCount). Walks the request's
   * blocks until no endpoint holds the next one; an endpoint counts a block only if it held every
   * block before it. Returns the longest match over all endpoints.
   */
  match(hashes: readonly number[], matched: Int32Array): number {
    matched.fill(0, 0, this.ids.length);
    let block = 0;
    for (; block < hashes.length; block++) {
      const holders = this.owners.get(hashes[block]!);
      if (holders === undefined) break;
      let advanced = false;
      for (const slot of holders) {
        if (matched[slot] === block) {
          matched[slot] = block + 1;
          advanced = true;
        }
      }
      if (!advanced) break;
    }
    return block;
  }

  /** Longest cached prefix on one endpoint. */
  matchOn(endpointId: string, hashes: readonly number[]): number {
    const blocks = this.lru[this.slotOf(endpointId)]!;
    let block = 0;
    while (block < hashes.length && blocks.has(hashes[block]!)) block++;
    return block;
  }

  /**
   * Records that the endpoint now holds these blocks. They are touched last-first so the first block
   * ends up most recent: like vLLM, which frees a sequence's blocks tail-first, a prefix outlives its
   * continuation, and a shared system prompt outlives every conversation built on it.
   */
  insert(endpointId: string, hashes: readonly number[]): void {
    const slot = this.slotOf(endpointId);
    const blocks = this.lru[slot]!;
    for (let block = hashes.length - 1; block >= 0; block--) {
      const hash = hashes[block]!;
      if (blocks.delete(hash)) {
        blocks.add(hash);
        continue;
      }
      blocks.add(hash);
      const holders = this.owners.get(hash);
      if (holders === undefined) this.owners.set(hash, [slot]);
      else holders.push(slot);
    }
    this.evict(slot);
  }

  /** Forgets blocks `from` onwards on one endpoint (the engine said it no longer had them). */
  truncate(endpointId: string, hashes: readonly number[], from: number): number {
    const slot = this.slotOf(endpointId);
    let dropped = 0;
    for (let block = Math.max(0, from); block < hashes.length; block++) {
      if (this.drop(slot, hashes[block]!)) dropped++;
    }
    return dropped;
  }

  /** Keeps only these endpoints; the others' blocks are forgotten and their slots reused. */
  retainOnly(endpointIds: readonly string[]): void {
    const keep = new Set(endpointIds);
    for (const [endpointId, slot] of [...this.slotById]) {
      if (keep.has(endpointId)) continue;
      for (const hash of [...this.lru[slot]!]) this.drop(slot, hash);
      this.slotById.delete(endpointId);
      this.ids[slot] = undefined;
      this.freeSlots.push(slot);
    }
  }

  /** Blocks tracked for one endpoint, or over all endpoints. */
  trackedBlocks(endpointId?: string): number {
    if (endpointId !== undefined) return this.lru[this.slotOf(endpointId)]!.size;
    let total = 0;
    for (let slot = 0; slot < this.ids.length; slot++)
      if (this.ids[slot] !== undefined) total += this.lru[slot]!.size;
    return total;
  }

  /** Distinct block hashes held by at least one endpoint. */
  get distinctBlocks(): number {
    return this.owners.size;
  }

  /**
   * Evicts in batches of 1/32 of the capacity. V8's Set leaves a hole for every deleted entry until it
   * rehashes, and an iterator skips holes from the front, so finding the oldest entry one at a time
   * costs O(holes) per eviction (measured: 10 µs per block at 31,250 blocks). One iterator per batch
   * pays that scan once; the index then holds between 97 % and 100 % of capacity.
   */
  private evict(slot: number): void {
    const blocks = this.lru[slot]!;
    const capacity = this.capacity[slot]!;
    if (blocks.size <= capacity) return;
    const target = Math.max(0, Math.min(capacity, blocks.size - 1 - Math.floor(capacity / 32)));
    const victims: number[] = [];
    for (const hash of blocks) {
      if (blocks.size - victims.length <= target) break;
      victims.push(hash);
    }
    for (const hash of victims) this.drop(slot, hash);
  }

  private drop(slot: number, hash: number): boolean {
    if (!this.lru[slot]!.delete(hash)) return false;
    const holders = this.owners.get(hash);
    if (holders === undefined) return true;
    const at = holders.indexOf(slot);
    if (at >= 0) {
      holders[at] = holders[holders.length - 1]!;
      holders.pop();
    }
    if (holders.length === 0) this.owners.delete(hash);
    return true;
  }
}
