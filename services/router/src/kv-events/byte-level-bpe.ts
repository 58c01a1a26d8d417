/**
 * The BPE model of a byte-level Hugging Face tokenizer (GPT-2, Llama 3, Qwen 2 and their kin): a
 * pre-token's UTF-8 bytes become GPT-2's printable byte characters, which BPE merges into vocabulary
 * tokens, lowest merge rank first and leftmost first among equal ranks — the min-heap walk of the
 * tokenizers crate's `Word::merge_all`, reproduced step for step (stale heap entries included), so
 * even vocabularies where two different pairs merge into the same token give the same ids.
 * `ignoreMerges` (Llama 3) takes a pre-token found whole in the vocabulary as one token first.
 * Results are cached per pre-token: prompts repeat their words.
 */

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others shift past U+0100. */
function byteCharacters(): string[] {
  const printable = (byte: number) =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const table: string[] = [];
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    table[byte] = String.fromCharCode(printable(byte) ? byte : 256 + shifted++);
  }
  return table;
}

export const BYTE_CHARACTERS: readonly string[] = byteCharacters();

export interface BpeOptions {
  vocab: ReadonlyMap<string, number>;
  /** Merges in rank order, each a pair of vocabulary strings. */
  merges: readonly (readonly [string, string])[];
  ignoreMerges: boolean;
  /** Used for a character missing from the vocabulary (never, for a complete byte-level vocabulary). */
  unkToken: string | null;
  byteFallback: boolean;
  /** Pre-tokens remembered; the cache is emptied when it grows past this. */
  cacheSize?: number;
}

/** Pair key: ids stay below 2^21 in every released vocabulary, so two fit a safe integer. */
const pairShift = 2 ** 21;
/** Heap priority: rank · 2^31 + position, exact while ranks stay below 2^22. */
const positionShift = 2 ** 31;
const maxMerges = 2 ** 22;

export class ByteLevelBpe {
  private readonly vocab: ReadonlyMap<string, number>;
  /** (left id, right id) → rank and merged id, as one number each (rank · 2^21 + id). */
  private readonly merges = new Map<number, number>();
  private readonly ignoreMerges: boolean;
  private readonly unkId: number | undefined;
  private readonly byteFallback: boolean;
  private readonly cache = new Map<string, readonly number[]>();
  private readonly cacheSize: number;
  private readonly encoder = new TextEncoder();

  constructor(options: BpeOptions) {
    this.vocab = options.vocab;
    for (const id of this.vocab.values()) {
      if (!Number.isInteger(id) || id < 0 || id >= pairShift)
        throw new Error(`vocabulary id ${id} out of range`);
    }
    if (options.merges.length >= maxMerges) throw new Error(`${options.merges.length} merges is too many`);
    options.merges.forEach(([left, right], rank) => {
      const leftId = this.vocab.get(left);
      const rightId = this.vocab.get(right);
      const merged = this.vocab.get(left + right);
      if (leftId === undefined || rightId === undefined || merged === undefined) {
        throw new Error(`merge ${rank} "${left} ${right}" uses a token missing from the vocabulary`);
      }
      // A repeated pair keeps its later rank, as a HashMap built from the list does.
      this.merges.set(leftId * pairShift + rightId, rank * pairShift + merged);
    });
    this.ignoreMerges = options.ignoreMerges;
    this.unkId = options.unkToken === null ? undefined : this.vocab.get(options.unkToken);
    if (options.unkToken !== null && this.unkId === undefined) {
      throw new Error(`unk_token "${options.unkToken}" is not in the vocabulary`);
    }
    this.byteFallback = options.byteFallback;
    this.cacheSize = options.cacheSize ?? 65_536;
  }

  /** Token ids of one pre-token (raw text, before the byte mapping). */
  encode(piece: string): readonly number[] {
    const cached = this.cache.get(piece);
    if (cached !== undefined) return cached;
    const ids = this.encodeUncached(piece);
    if (this.cache.size >= this.cacheSize) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  private encodeUncached(piece: string): readonly number[] {
    if (piece.length === 0) return [];
    let word = "";
    for (const byte of this.encoder.encode(piece)) word += BYTE_CHARACTERS[byte];
    if (this.ignoreMerges) {
      const whole = this.vocab.get(word);
      if (whole !== undefined) return [whole];
    }
    return this.mergeAll(this.symbols(word));
  }

  /** One symbol per character of the mapped word (byte fallback or unk for unknown ones). */
  private symbols(word: string): number[] {
    const ids: number[] = [];
    let previousUnknown = false;
    for (const char of word) {
      const id = this.vocab.get(char);
      if (id !== undefined) {
        ids.push(id);
        previousUnknown = false;
        continue;
      }
      const fallback = this.byteFallback ? this.fallbackIds(char) : undefined;
      if (fallback) {
        ids.push(...fallback);
        previousUnknown = false;
      } else if (this.unkId !== undefined) {
        if (!previousUnknown) ids.push(this.unkId);
        previousUnknown = true;
      } else {
        throw new Error(
          `character ${JSON.stringify(char)} is not in the vocabulary and there is no unk_token`,
        );
      }
    }
    return ids;
  }

  private fallbackIds(char: string): number[] | undefined {
    const ids: number[] = [];
    for (const byte of this.encoder.encode(char)) {
      const id = this.vocab.get(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
      if (id === undefined) return undefined;
      ids.push(id);
    }
    return ids;
  }

  /** tokenizers' Word::merge_all: a min-heap of (rank, position) over a linked list of symbols. */
  private mergeAll(initial: number[]): number[] {
    const count = initial.length;
    if (count < 2) return initial;
    const symbol = Int32Array.from(initial);
    const next = new Int32Array(count);
    const previous = new Int32Array(count);
    const alive = new Uint8Array(count).fill(1);
    for (let index = 0; index < count; index++) {
      previous[index] = index - 1;
      next[index] = index + 1 < count ? index + 1 : -1;
    }
    const heap = new MergeHeap();
    for (let index = 0; index + 1 < count; index++) this.offer(heap, symbol, index, index + 1);
    while (heap.size > 0) {
      const merged = heap.topMerged;
      const position = heap.pop();
      const right = next[position] as number;
      if (!alive[position] || right < 0) continue;
      const current = this.merges.get((symbol[position] as number) * pairShift + (symbol[right] as number));
      // A stale entry: the pair at this position changed since it was queued.
      if (current === undefined || current % pairShift !== merged) continue;
      symbol[position] = merged;
      alive[right] = 0;
      const after = next[right] as number;
      next[position] = after;
      if (after >= 0) previous[after] = position;
      const before = previous[position] as number;
      if (before >= 0) this.offer(heap, symbol, before, position);
      if (after >= 0) this.offer(heap, symbol, position, after);
    }
    const ids: number[] = [];
    for (let index = 0; index >= 0; index = next[index] as number) ids.push(symbol[index] as number);
    return ids;
  }

  private offer(heap: MergeHeap, symbol: Int32Array, left: number, right: number): void {
    const merge = this.merges.get((symbol[left] as number) * pairShift + (symbol[right] as number));
    if (merge === undefined) return;
    heap.push(Math.floor(merge / pairShift), left, merge % pairShift);
  }
}

/**
 * A binary min-heap ordered by (rank, position), the order of tokenizers' `Merge`; both fit one
 * number (rank · 2^31 + position), the merged id rides alongside.
 */
class MergeHeap {
  private readonly priorities: number[] = [];
  private readonly mergedIds: number[] = [];

  get size(): number {
    return this.priorities.length;
  }

  /** The merged id of the entry `pop` returns next. */
  get topMerged(): number {
    return this.mergedIds[0] as number;
  }

  push(rank: number, position: number, merged: number): void {
    const priorities = this.priorities;
    const mergedIds = this.mergedIds;
    const priority = rank * positionShift + position;
    let child = priorities.length;
    priorities.push(priority);
    mergedIds.push(merged);
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if ((priorities[parent] as number) <= priority) break;
      priorities[child] = priorities[parent] as number;
      mergedIds[child] = mergedIds[parent] as number;
      child = parent;
    }
    priorities[child] = priority;
    mergedIds[child] = merged;
  }

  /** Removes the smallest entry and returns its position. */
  pop(): number {
    const priorities = this.priorities;
    const mergedIds = this.mergedIds;
    const top = priorities[0] as number;
    const lastPriority = priorities.pop() as number;
    const lastMerged = mergedIds.pop() as number;
    const size = priorities.length;
    if (size > 0) {
      let parent = 0;
      for (;;) {
        let child = parent * 2 + 1;
        if (child >= size) break;
        if (child + 1 < size && (priorities[child + 1] as number) < (priorities[child] as number)) child++;
        if ((priorities[child] as number) >= lastPriority) break;
        priorities[parent] = priorities[child] as number;
        mergedIds[parent] = mergedIds[child] as number;
        parent = child;
      }
      priorities[parent] = lastPriority;
      mergedIds[parent] = lastMerged;
    }
    return top % positionShift;
  }
}
