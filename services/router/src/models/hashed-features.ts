/**
 * Hashed n-gram features for the in-process prompt classifier: word unigrams and bigrams plus
 * character 3- to 5-grams, each hashed (FNV-1a, 32 bits) into 2^18 buckets with a sign taken from the
 * hash's top bit, so that colliding features tend to cancel rather than pile up (Weinberger et al.,
 * "Feature hashing for large scale multitask learning"). No vocabulary is kept: training and
 * prediction need no dictionary, and unseen words still share character n-grams with seen ones.
 */

export const featureBits = 18;
const bucketMask = (1 << featureBits) - 1;

// Different seeds keep the feature families apart: the word "the" and the char-gram "the" are
// different signals and should not land in the same bucket by construction.
const wordSeed = 0x811c9dc5;
const bigramSeed = 0x01000193;
const charSeed = 0x2f6b3a91;
const fnvPrime = 0x01000193;

/** A sparse, L2-normalised feature vector: parallel arrays of bucket indices and values. */
export interface SparseVector {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

function mix(hash: number, code: number): number {
  return Math.imul(hash ^ code, fnvPrime) >>> 0;
}

function hashString(seed: number, text: string): number {
  let hash = seed;
  for (let index = 0; index < text.length; index++) hash = mix(hash, text.charCodeAt(index));
  return hash;
}

/**
 * Turns text into features. Repeated n-grams are summed in a small open-addressing table that is
 * reused across calls and cleared slot by slot: a dense 2^18 accumulator would cost a cache miss per
 * n-gram, which measured three times slower. The process is single-threaded and extract() is
 * synchronous, so one instance can serve every request.
 */
export class FeatureExtractor {
  private keys = new Int32Array(1024).fill(-1);
  private sums = new Float64Array(1024);
  private readonly used: number[] = [];

  extract(text: string): SparseVector {
    const normalized = text.toLowerCase().replace(/\s+/g, " ").trim();
    const words = normalized.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
    let previous = "<s>";
    for (const word of words) {
      this.add(hashString(wordSeed, word));
      this.add(hashString(hashString(bigramSeed, previous), ` ${word}`));
      previous = word;
    }
    this.add(hashString(hashString(bigramSeed, previous), " </s>"));
    this.addCharGrams(` ${normalized} `);
    return this.collect();
  }

  private addCharGrams(text: string): void {
    for (let start = 0; start + 3 <= text.length; start++) {
      let hash = charSeed;
      const end = Math.min(start + 5, text.length);
      for (let index = start; index < end; index++) {
        hash = mix(hash, text.charCodeAt(index));
        if (index - start >= 2) this.add(mix(hash, index - start));
      }
    }
  }

  private add(hash: number): void {
    const bucket = hash & bucketMask;
    const mask = this.keys.length - 1;
    let slot = bucket & mask;
    while (this.keys[slot] !== -1 && this.keys[slot] !== bucket) slot = (slot + 1) & mask;
    if (this.keys[slot] === -1) {
      this.keys[slot] = bucket;
      this.used.push(slot);
    }
    this.sums[slot]! += hash >>> 31 === 1 ? -1 : 1;
    // Half full keeps linear probes short.
    if (this.used.length * 2 > this.keys.length) this.grow();
  }

  private grow(): void {
    const keys = this.keys;
    const sums = this.sums;
    const used = [...this.used];
    this.keys = new Int32Array(keys.length * 2).fill(-1);
    this.sums = new Float64Array(keys.length * 2);
    this.used.length = 0;
    const mask = this.keys.length - 1;
    for (const old of used) {
      let slot = keys[old]! & mask;
      while (this.keys[slot] !== -1) slot = (slot + 1) & mask;
      this.keys[slot] = keys[old]!;
      this.sums[slot] = sums[old]!;
      this.used.push(slot);
    }
  }

  /** Reads out the used slots, L2-normalises (so long prompts don't get larger logits), and resets. */
  private collect(): SparseVector {
    let squares = 0;
    let count = 0;
    for (const slot of this.used) {
      const value = this.sums[slot]!;
      squares += value * value;
      // Signed features can cancel to zero; those carry nothing.
      if (value !== 0) count++;
    }
    const indices = new Int32Array(count);
    const values = new Float32Array(count);
    const scale = squares > 0 ? 1 / Math.sqrt(squares) : 0;
    let position = 0;
    for (const slot of this.used) {
      const value = this.sums[slot]!;
      if (value !== 0) {
        indices[position] = this.keys[slot]!;
        values[position] = value * scale;
        position++;
      }
      this.keys[slot] = -1;
      this.sums[slot] = 0;
    }
    this.used.length = 0;
    return { indices, values };
  }
}
