/**
 * A tokenizer's added tokens (special tokens such as `<|begin_of_text|>`, and any others the file
 * lists), found in text the way the tokenizers crate's AddedVocabulary finds them: leftmost-longest
 * matches scanned left to right; a `single_word` token only where no word character touches it (a
 * rejected match is skipped, not retried shorter); `lstrip` / `rstrip` widen the match over the
 * whitespace beside it (never back into the previous match). Text between matches is normal text.
 */
import type { AddedTokenSpec } from "./hf-tokenizer-spec.js";

export interface TextSplit {
  start: number;
  end: number;
  /** The added token's id, or undefined for normal text between tokens. */
  id?: number;
}

const wordCharacter = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const whiteSpace = /\p{White_Space}/u;

export class AddedTokenMatcher {
  private readonly pattern: RegExp | null;
  private readonly byContent = new Map<string, AddedTokenSpec>();
  /** The longest token, in UTF-16 units: how far a match can reach past where it starts. */
  readonly longest: number;
  readonly hasLeftStrip: boolean;
  readonly hasSingleWord: boolean;

  constructor(tokens: readonly AddedTokenSpec[]) {
    for (const token of tokens) this.byContent.set(token.content, token);
    // Longest first: JavaScript alternation is leftmost-first, which then equals leftmost-longest.
    const contents = [...this.byContent.keys()].sort((a, b) => b.length - a.length);
    this.pattern =
      contents.length === 0
        ? null
        : new RegExp(contents.map((content) => escapeRegex(content)).join("|"), "gu");
    this.longest = contents.reduce((longest, content) => Math.max(longest, content.length), 0);
    this.hasLeftStrip = tokens.some((token) => token.lstrip);
    this.hasSingleWord = tokens.some((token) => token.single_word);
  }

  /** Splits `text` into added tokens and the normal text between them, covering it in order. */
  split(text: string): TextSplit[] {
    if (this.pattern === null || text.length === 0) return [{ start: 0, end: text.length }];
    const splits: TextSplit[] = [];
    let consumed = 0;
    this.pattern.lastIndex = 0;
    for (let match = this.pattern.exec(text); match !== null; match = this.pattern.exec(text)) {
      const token = this.byContent.get(match[0]) as AddedTokenSpec;
      let start = match.index;
      let stop = start + match[0].length;
      if (token.single_word && !this.standsAlone(text, start, stop)) continue;
      if (token.lstrip) start = Math.max(trailingSpaceStart(text, start), consumed);
      if (token.rstrip) stop = leadingSpaceEnd(text, stop);
      if (consumed < start) splits.push({ start: consumed, end: start });
      splits.push({ start, end: stop, id: token.id });
      consumed = stop;
    }
    if (consumed < text.length) splits.push({ start: consumed, end: text.length });
    return splits;
  }

  private standsAlone(text: string, start: number, stop: number): boolean {
    const before = start === 0 ? undefined : String.fromCodePoint(codePointBefore(text, start));
    const after = stop >= text.length ? undefined : String.fromCodePoint(text.codePointAt(stop) as number);
    return (
      !(before !== undefined && wordCharacter.test(before)) &&
      !(after !== undefined && wordCharacter.test(after))
    );
  }
}

function codePointBefore(text: string, offset: number): number {
  const low = text.charCodeAt(offset - 1);
  if (offset >= 2 && low >= 0xdc00 && low <= 0xdfff) {
    const high = text.charCodeAt(offset - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.codePointAt(offset - 2) as number;
  }
  return low;
}

/** Where the run of whitespace ending at `end` starts. */
export function trailingSpaceStart(text: string, end: number): number {
  let start = end;
  while (start > 0) {
    const code = codePointBefore(text, start);
    if (!whiteSpace.test(String.fromCodePoint(code))) break;
    start -= code > 0xffff ? 2 : 1;
  }
  return start;
}

/** Where the run of whitespace starting at `start` ends. */
function leadingSpaceEnd(text: string, start: number): number {
  let end = start;
  while (end < text.length) {
    const code = text.codePointAt(end) as number;
    if (!whiteSpace.test(String.fromCodePoint(code))) break;
    end += code > 0xffff ? 2 : 1;
  }
  return end;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}
