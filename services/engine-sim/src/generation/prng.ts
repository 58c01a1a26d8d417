/** mulberry32: a small, fast, seedable 32-bit PRNG. Deterministic across platforms. */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/** Folds a list of integers into a 32-bit seed (FNV-1a over their bytes). */
export function seedFrom(values: Iterable<number>): number {
  let hash = 0x811c9dc5;
  for (const value of values) {
    let word = value >>> 0;
    for (let byte = 0; byte < 4; byte++) {
      hash ^= word & 0xff;
      hash = Math.imul(hash, 0x01000193) >>> 0;
      word >>>= 8;
    }
  }
  return hash >>> 0;
}
