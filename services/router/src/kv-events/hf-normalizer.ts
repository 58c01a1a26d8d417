/**
 * Unicode normalization (a tokenizer.json `normalizer` of NFC/NFD/NFKC/NFKD, in sequence) that keeps
 * track of where each normalized character came from, so pre-tokens found in normalized text map
 * back to offsets of the prompt — where the prompt block hasher may resume tokenizing.
 *
 * Text is normalized cluster by cluster (a base character and the marks or Hangul jamo that may
 * compose with it); the clusters' results are checked against normalizing the whole text at once,
 * and where they differ (a rare composition across clusters) the whole text becomes one cluster: the
 * tokens are still exact, the text just cannot be resumed inside it.
 */
import type { UnicodeForm } from "./hf-tokenizer-spec.js";

export interface NormalizedText {
  /** The normalized text. */
  text: string;
  /**
   * For each UTF-16 unit of `text`, the source offset where its cluster ends; null when the text is
   * unchanged (offsets are the same on both sides).
   */
  sourceEnds: Int32Array | null;
}

/** Starts no new cluster: combining marks, Hangul medial/final jamo, halfwidth kana voicing marks. */
const continuesCluster = /[\p{M}\u1160-\u11ff\ud7b0-\ud7ff\uff9e\uff9f]/u;

export function normalizeText(forms: readonly UnicodeForm[], source: string): NormalizedText {
  // Every normalization form leaves ASCII as it is: the common case costs one regex test.
  if (forms.length === 0 || isAscii(source)) return { text: source, sourceEnds: null };
  const apply = (text: string) => forms.reduce((current, form) => current.normalize(form), text);
  const whole = apply(source);
  let text = "";
  const ends: number[] = [];
  let start = 0;
  for (let offset = 0; offset <= source.length; ) {
    const code = source.codePointAt(offset);
    const width = code !== undefined && code > 0xffff ? 2 : 1;
    const boundary =
      offset === source.length ||
      (offset > start && !continuesCluster.test(String.fromCodePoint(code as number)));
    if (boundary && offset > start) {
      const normalized = apply(source.slice(start, offset));
      text += normalized;
      for (let index = 0; index < normalized.length; index++) ends.push(offset);
      start = offset;
    }
    if (offset === source.length) break;
    offset += width;
  }
  if (text !== whole) return { text: whole, sourceEnds: new Int32Array(whole.length).fill(source.length) };
  if (text === source) return { text, sourceEnds: null };
  return { text, sourceEnds: Int32Array.from(ends) };
}

/** The source offset where normalized text up to `end` ends. */
export function sourceEnd(normalized: NormalizedText, end: number): number {
  if (normalized.sourceEnds === null || end === 0) return end;
  return normalized.sourceEnds[end - 1] as number;
}

/** Whether `end` in the normalized text falls between clusters (tokenization may resume there). */
export function isClusterBoundary(normalized: NormalizedText, end: number): boolean {
  const ends = normalized.sourceEnds;
  if (ends === null || end === 0 || end >= ends.length) return true;
  return ends[end - 1] !== ends[end];
}

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) > 0x7f) return false;
  return true;
}
