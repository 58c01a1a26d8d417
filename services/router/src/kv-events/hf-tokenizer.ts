/**
 * A byte-level BPE Hugging Face tokenizer loaded from the model's `tokenizer.json`, encoding text the
 * way vLLM's tokenizer does for a rendered chat prompt (no special tokens added: the chat template
 * writes BOS itself): added tokens first, then the normalizer, the pre-tokenizer and BPE on the text
 * between them. Pre-tokens are cached, so repeated words cost a map lookup.
 *
 * It also encodes a span of a longer text for the prompt block hasher (TokenSpans): each token comes
 * with the offset where tokenizing may resume after it, and tokens that text after the span could
 * still change are reported as ending at the span's end. Those are the tokens of the span's trailing
 * run of same-class characters (whitespace, letters, digits or other) and the one before it — greedy
 * pre-tokenizer patterns (`\s*[\r\n]+`, `\p{L}+`) can extend or re-cut a run that continues past the
 * span — plus what `stableMarginChars` covers: an added token straddling the cut, one-character
 * lookaheads. A property test compares span-wise against whole-text encoding on adversarial text.
 */
import { readFileSync } from "node:fs";
import { AddedTokenMatcher } from "./added-tokens.js";
import { ByteLevelBpe } from "./byte-level-bpe.js";
import { isClusterBoundary, normalizeText, sourceEnd } from "./hf-normalizer.js";
import { PreTokenizer } from "./hf-pre-tokenizer.js";
import { type HfTokenizerSpec, parseHfTokenizerSpec, type UnicodeForm } from "./hf-tokenizer-spec.js";
import type { Tokenize, TokenSpans } from "./tokenize.js";

/** Bounded lookahead of pre-tokenizer patterns (one character) with room to spare. */
const lookaheadMarginChars = 32;
const whiteSpace = /\p{White_Space}/u;
const letter = /\p{L}/u;
const digit = /\p{N}/u;

/** Where tokens go while a span is encoded: ids, source end offsets, and whether each end is resumable. */
interface Sink {
  ids: number[];
  ends: number[];
  resumable: boolean[];
}

export class HfTokenizer {
  private readonly added: AddedTokenMatcher;
  private readonly addedNormalized: AddedTokenMatcher | null;
  private readonly normalizers: readonly UnicodeForm[];
  private readonly preTokenizer: PreTokenizer;
  private readonly bpe: ByteLevelBpe;
  readonly stableMarginChars: number;

  constructor(spec: HfTokenizerSpec) {
    this.added = new AddedTokenMatcher(spec.addedTokens.filter((token) => !token.normalized));
    const normalizedTokens = spec.addedTokens
      .filter((token) => token.normalized)
      .map((token) => ({ ...token, content: normalizeText(spec.normalizers, token.content).text }));
    this.addedNormalized = normalizedTokens.length > 0 ? new AddedTokenMatcher(normalizedTokens) : null;
    this.normalizers = spec.normalizers;
    this.preTokenizer = new PreTokenizer(spec.preTokenizers);
    this.bpe = new ByteLevelBpe(spec);
    const longest = Math.max(this.added.longest, this.addedNormalized?.longest ?? 0);
    this.stableMarginChars = lookaheadMarginChars + longest;
  }

  static fromJson(json: unknown): HfTokenizer {
    return new HfTokenizer(parseHfTokenizerSpec(json));
  }

  static fromFile(path: string): HfTokenizer {
    return HfTokenizer.fromJson(JSON.parse(readFileSync(path, "utf8")));
  }

  /** The token ids of `text`, without any special tokens added. */
  encode(text: string): number[] {
    const sink: Sink = { ids: [], ends: [], resumable: [] };
    this.encodeInto(text, 0, sink);
    return sink.ids;
  }

  /** TokenSpans.encode: the tokens of `text[from, to)` and where tokenizing may resume after each. */
  encodeSpan(text: string, from: number, to: number, ids: number[], ends: number[]): void {
    const sink: Sink = { ids, ends, resumable: [] };
    const first = ids.length;
    this.encodeInto(text.slice(from, to), from, sink);
    const stableLimit = from + Math.max(0, trailingRunStart(text, from, to) - from - 1);
    let next = to;
    for (let index = ids.length - 1; index >= first; index--) {
      const end = ends[index] as number;
      if (end > stableLimit) {
        ends[index] = to;
        continue;
      }
      if (sink.resumable[index - first] && this.canResumeAt(text, end)) next = end;
      ends[index] = next;
    }
  }

  /** Added tokens that strip or demand word boundaries look at the character before them. */
  private canResumeAt(text: string, offset: number): boolean {
    if (offset === 0) return true;
    const before = text[offset - 1] as string;
    if (this.hasLeftStrip() && whiteSpace.test(before)) return false;
    if (this.hasSingleWord() && /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}]/u.test(before)) return false;
    return true;
  }

  private hasLeftStrip(): boolean {
    return this.added.hasLeftStrip || (this.addedNormalized?.hasLeftStrip ?? false);
  }

  private hasSingleWord(): boolean {
    return this.added.hasSingleWord || (this.addedNormalized?.hasSingleWord ?? false);
  }

  private encodeInto(text: string, offset: number, sink: Sink): void {
    for (const split of this.added.split(text)) {
      if (split.id !== undefined) this.push(sink, [split.id], offset + split.end, true);
      else this.encodeStretch(text.slice(split.start, split.end), offset + split.start, sink);
    }
  }

  /** Text between raw added tokens: normalized, split on normalized added tokens, pre-tokenized, BPE. */
  private encodeStretch(raw: string, offset: number, sink: Sink): void {
    const normalized = normalizeText(this.normalizers, raw);
    const parts = this.addedNormalized?.split(normalized.text) ?? [{ start: 0, end: normalized.text.length }];
    for (const part of parts) {
      const endOf = (end: number) => offset + sourceEnd(normalized, end);
      if (part.id !== undefined) {
        this.push(sink, [part.id], endOf(part.end), isClusterBoundary(normalized, part.end));
        continue;
      }
      const stretch = normalized.text.slice(part.start, part.end);
      for (const preToken of this.preTokenizer.split(stretch)) {
        const end = part.start + preToken.end;
        // A stretch's end is an added token's start, where resuming is always exact.
        const resumable =
          preToken.end === stretch.length || (preToken.resumable && isClusterBoundary(normalized, end));
        this.push(sink, this.bpe.encode(preToken.text), endOf(end), resumable);
      }
    }
  }

  private push(sink: Sink, ids: readonly number[], end: number, resumable: boolean): void {
    for (const id of ids) {
      sink.ids.push(id);
      sink.ends.push(end);
      sink.resumable.push(resumable);
    }
  }
}

/** Where the run of same-class characters (whitespace, letters, digits, anything else) ending at `to` starts. */
function trailingRunStart(text: string, from: number, to: number): number {
  let start = to;
  let runClass = -1;
  while (start > from) {
    const low = text.charCodeAt(start - 1);
    const width = start - 2 >= from && low >= 0xdc00 && low <= 0xdfff ? 2 : 1;
    const char = text.slice(start - width, start);
    const charClass = whiteSpace.test(char) ? 0 : letter.test(char) ? 1 : digit.test(char) ? 2 : 3;
    if (runClass >= 0 && charClass !== runClass) break;
    runClass = charClass;
    start -= width;
  }
  return start;
}

/** The precise strategy's `tokenize` dependency over a loaded tokenizer, with span-wise encoding. */
export function createHfTokenize(tokenizer: HfTokenizer): Tokenize {
  const spans: TokenSpans = {
    stableMarginChars: tokenizer.stableMarginChars,
    // vLLM adds no tokens of its own before a rendered chat prompt; completions get BOS from the gateway.
    leading: [],
    encode: (text, from, to, ids, ends) => tokenizer.encodeSpan(text, from, to, ids, ends),
  };
  return Object.assign((prompt: string) => tokenizer.encode(prompt), { spans });
}
