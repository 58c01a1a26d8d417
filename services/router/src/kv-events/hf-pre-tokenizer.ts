/**
 * A tokenizer.json pre-tokenizer (Split / Digits stages, then ByteLevel) cutting one stretch of
 * normalized text (between added tokens) into the pre-tokens BPE encodes, the way the tokenizers
 * crate does: each stage splits every piece the previous stage produced, empty pieces vanish, and
 * ByteLevel's `add_prefix_space` prepends a space to each piece it receives that lacks one.
 *
 * Each pre-token also says whether tokenizing may resume at its end. That holds at the end of a
 * first-stage piece — a later run of the first stage's regex from there finds the same pieces, as
 * the regex continues from there anyway — unless that regex looks behind its start (lookbehind,
 * anchors) or the first stage is ByteLevel adding a prefix space (a resumed stretch would get one it
 * must not).
 */
import type { PreTokenizerSpec } from "./hf-tokenizer-spec.js";
import { translateOnigurumaPattern } from "./oniguruma-regex.js";

export interface PreToken {
  /** The text BPE encodes (raw; ByteLevel maps its bytes), including any prefix space. */
  text: string;
  /** Where the pre-token ends in the stretch it came from. */
  end: number;
  /** Whether tokenization may resume at `end`. */
  resumable: boolean;
}

/** GPT-2's pattern, which ByteLevel with `use_regex` splits on (tokenizers' byte_level.rs). */
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

interface Piece {
  text: string;
  /** Offsets in the stretch; `shift` is 1 when `text` starts with an added prefix space. */
  start: number;
  end: number;
  shift: number;
  resumable: boolean;
}

type Stage = (piece: Piece) => Piece[];

export class PreTokenizer {
  private readonly stages: Stage[];
  /** Whether tokenization can resume inside a stretch at all (else only at its ends). */
  readonly resumesInside: boolean;

  constructor(specs: readonly PreTokenizerSpec[]) {
    let resumesInside = true;
    this.stages = specs.map((spec, index) => {
      const stage = buildStage(spec);
      // Only the first stage sees whole stretches; later stages split its pieces, resumed or not.
      if (index === 0 && (stage.looksBehind || (spec.type === "ByteLevel" && spec.addPrefixSpace))) {
        resumesInside = false;
      }
      return stage.split;
    });
    this.resumesInside = resumesInside;
  }

  split(stretch: string): PreToken[] {
    let pieces: Piece[] = [{ text: stretch, start: 0, end: stretch.length, shift: 0, resumable: true }];
    this.stages.forEach((stage, index) => {
      const next: Piece[] = [];
      for (const piece of pieces) {
        const parts = stage(piece);
        parts.forEach((part, position) => {
          // First-stage pieces may be resumed at; later ones only where their parent ends.
          part.resumable =
            index === 0
              ? this.resumesInside
              : piece.resumable && position === parts.length - 1 && part.end === piece.end;
          next.push(part);
        });
      }
      pieces = next;
    });
    return pieces.map((piece) => ({ text: piece.text, end: piece.end, resumable: piece.resumable }));
  }
}

function buildStage(spec: PreTokenizerSpec): { split: Stage; looksBehind: boolean } {
  switch (spec.type) {
    case "Split": {
      const source = "regex" in spec.pattern ? spec.pattern.regex : escapeRegex(spec.pattern.literal);
      const translated =
        "regex" in spec.pattern ? translateOnigurumaPattern(source) : { source, looksBehind: false };
      const regex = new RegExp(translated.source, "gu");
      return {
        split: (piece) => splitOn(piece, regex, spec.behavior === "Removed"),
        looksBehind: translated.looksBehind,
      };
    }
    case "Digits": {
      const regex = spec.individualDigits ? /\p{N}/gu : /\p{N}+/gu;
      return { split: (piece) => splitOn(piece, regex, false), looksBehind: false };
    }
    case "ByteLevel": {
      const regex = spec.useRegex ? new RegExp(translateOnigurumaPattern(GPT2_PATTERN).source, "gu") : null;
      const split: Stage = (piece) => {
        const prefixed = spec.addPrefixSpace && !piece.text.startsWith(" ") ? withPrefixSpace(piece) : piece;
        return regex === null ? [prefixed] : splitOn(prefixed, regex, false);
      };
      return { split, looksBehind: false };
    }
  }
}

function withPrefixSpace(piece: Piece): Piece {
  return { ...piece, text: ` ${piece.text}`, shift: piece.shift + 1 };
}

/** Matches and the text between them as pieces (matches dropped when `removeMatches`), empty ones skipped. */
function splitOn(piece: Piece, regex: RegExp, removeMatches: boolean): Piece[] {
  const parts: Piece[] = [];
  const text = piece.text;
  const add = (from: number, to: number) => {
    if (to <= from) return;
    parts.push({
      text: text.slice(from, to),
      start: piece.start + Math.max(0, from - piece.shift),
      end: piece.start + Math.max(0, to - piece.shift),
      // Only the first part keeps the prefix space's shift.
      shift: from === 0 ? piece.shift : 0,
      resumable: false,
    });
  };
  let previous = 0;
  for (const match of text.matchAll(regex)) {
    const start = match.index;
    const end = start + match[0].length;
    add(previous, start);
    if (!removeMatches) add(start, end);
    previous = end;
  }
  add(previous, text.length);
  return parts;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}
