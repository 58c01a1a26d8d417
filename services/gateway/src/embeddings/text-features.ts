/**
 * The features the built-in embedder hashes: words, pairs of neighbouring content words, and the
 * character 3–5-grams of content words (which make "reset"/"resetting" and small typos overlap).
 */

/** Letters and digits; everything else separates words. */
const WORD = /[\p{L}\p{N}]+/gu;
const COMBINING_MARK = /\p{M}/gu;

/**
 * Function words that carry little meaning on their own. They still count, at a small weight, so a
 * text made only of them keeps a vector; negations are deliberately absent ("not", "no", "never"),
 * because they flip meaning.
 */
export const stopwords: ReadonlySet<string> = new Set(
  (
    "a an the and or but if then so of to in on at by for with from into onto about as than that this " +
    "these those is are was were be been being am do does did doing have has had having i me my mine " +
    "we us our you your he him his she her it its they them their what which who whom whose when where " +
    "why how can could would should will shall may might must s t d ll m re ve just also please tell " +
    "give some any there here very"
  ).split(" "),
);

/** Case-folded, accent-free words of `text`, in order ("Café au lait!" → ["cafe", "au", "lait"]). */
export function words(text: string): string[] {
  const folded = text.normalize("NFKD").replace(COMBINING_MARK, "").toLowerCase();
  return folded.match(WORD) ?? [];
}

/** 32-bit FNV-1a over UTF-16 code units, then murmur3's finaliser so every bit depends on every input bit. */
export function hashText(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return finalise(hash);
}

export function finalise(value: number): number {
  let hash = value;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** Feature hash → count, one table per feature family (counts become sublinear weights later). */
export interface FeatureCounts {
  words: Map<number, number>;
  pairs: Map<number, number>;
  grams: Map<number, number>;
  /** Weight multiplier per word hash: stopwords count less. */
  wordWeight: Map<number, number>;
}

const WORD_SEED = 0x9e3779b1;
const PAIR_SEED = 0x7f4a7c15;
const GRAM_SEED = 0x2545f491;
export const STOPWORD_WEIGHT = 0.15;

export function countFeatures(text: string): FeatureCounts {
  const all = words(text);
  const content = all.filter((word) => !stopwords.has(word));
  // A text made only of function words ("what is it") is still described by them.
  const meaningful = content.length > 0 ? content : all;
  const counts: FeatureCounts = {
    words: new Map(),
    pairs: new Map(),
    grams: new Map(),
    wordWeight: new Map(),
  };
  for (const word of all) {
    const hash = hashText(word, WORD_SEED);
    increment(counts.words, hash);
    if (content.length > 0 && stopwords.has(word)) counts.wordWeight.set(hash, STOPWORD_WEIGHT);
  }
  for (let index = 1; index < meaningful.length; index++) {
    increment(counts.pairs, hashText(`${meaningful[index - 1]} ${meaningful[index]}`, PAIR_SEED));
  }
  for (const word of meaningful) countGrams(`<${word}>`, counts.grams);
  return counts;
}

/** Character 3-, 4- and 5-grams of a word padded with boundary marks, hashed without slicing strings. */
function countGrams(padded: string, grams: Map<number, number>): void {
  for (let start = 0; start + 3 <= padded.length; start++) {
    let hash = (0x811c9dc5 ^ GRAM_SEED) >>> 0;
    for (let offset = 0; offset < 5 && start + offset < padded.length; offset++) {
      hash ^= padded.charCodeAt(start + offset);
      hash = Math.imul(hash, 0x01000193);
      // Mixing the length in keeps "abc" (3-gram) and a 4-gram with the same running hash apart.
      if (offset >= 2) increment(grams, finalise(hash ^ (offset + 1)));
    }
  }
}

function increment(map: Map<number, number>, key: number): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
