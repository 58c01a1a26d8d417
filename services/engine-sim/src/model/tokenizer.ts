/**
 * A deterministic stand-in for a BPE tokenizer.
 *
 * Text is cut into pieces on word / number / punctuation / whitespace boundaries (GPT-2 style:
 * a word keeps its one leading space), long words are split into chunks of at most four letters,
 * and each piece's id is a stable 32-bit FNV-1a hash of its text folded into the vocabulary.
 * On English prose this yields roughly 4 characters per token, close to real tokenizers.
 * The pieces always concatenate back to the input, so token counts of generated text are exact.
 */

export const BOS_TOKEN_ID = 1;
export const EOS_TOKEN_ID = 2;

/** Special tokens (used by the chat template) map to fixed ids below FIRST_REGULAR_ID. */
export const SPECIAL_TOKENS: Readonly<Record<string, number>> = {
  "<s>": BOS_TOKEN_ID,
  "</s>": EOS_TOKEN_ID,
  "<|system|>": 3,
  "<|user|>": 4,
  "<|assistant|>": 5,
  "<|tool|>": 6,
  "<|developer|>": 7,
  "<|end|>": 8,
};
const FIRST_REGULAR_ID = 100;
const MAX_LETTERS_PER_PIECE = 5;

export interface TokenPiece {
  id: number;
  text: string;
  special: boolean;
  /** Character offsets into the input: [start, end). */
  start: number;
  end: number;
}

export interface EncodeOptions {
  /** Prepend the BOS token, as vLLM's /v1/completions and TGI's /generate do by default. */
  addSpecialTokens?: boolean;
}

const specialAlternation = Object.keys(SPECIAL_TOKENS)
  .map((token) => token.replace(/\|/g, "\\|"))
  .join("|");
const PIECE_PATTERN = new RegExp(
  `${specialAlternation}| ?\\p{L}+| ?\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`,
  "gu",
);

/** 32-bit FNV-1a over the UTF-16 code units of a string. */
export function fnv1a32(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export class Tokenizer {
  readonly vocabSize: number;

  constructor(options: { vocabSize?: number } = {}) {
    this.vocabSize = options.vocabSize ?? 32_000;
    if (this.vocabSize <= FIRST_REGULAR_ID) throw new Error(`vocabSize must be > ${FIRST_REGULAR_ID}`);
  }

  /** Token id of a (non-special) piece of text. */
  pieceId(text: string): number {
    const special = SPECIAL_TOKENS[text];
    if (special !== undefined) return special;
    return FIRST_REGULAR_ID + (fnv1a32(text) % (this.vocabSize - FIRST_REGULAR_ID));
  }

  pieces(text: string, options: EncodeOptions = {}): TokenPiece[] {
    const result: TokenPiece[] = [];
    if (options.addSpecialTokens)
      result.push({ id: BOS_TOKEN_ID, text: "", special: true, start: 0, end: 0 });
    for (const match of text.matchAll(PIECE_PATTERN)) {
      const piece = match[0];
      const start = match.index;
      const special = SPECIAL_TOKENS[piece];
      if (special !== undefined) {
        result.push({ id: special, text: piece, special: true, start, end: start + piece.length });
        continue;
      }
      for (const chunk of splitLongWord(piece)) {
        const chunkStart = start + chunk.offset;
        const chunkEnd = chunkStart + chunk.text.length;
        result.push({
          id: this.pieceId(chunk.text),
          text: chunk.text,
          special: false,
          start: chunkStart,
          end: chunkEnd,
        });
      }
    }
    return result;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.pieces(text, options).map((piece) => piece.id);
  }

  count(text: string, options: EncodeOptions = {}): number {
    return this.pieces(text, options).length;
  }
}

function splitLongWord(piece: string): Array<{ text: string; offset: number }> {
  const hasSpace = piece.startsWith(" ");
  const letters = hasSpace ? piece.length - 1 : piece.length;
  // Only letter runs are split; a leading space rides on the first chunk.
  if (letters <= MAX_LETTERS_PER_PIECE + 1 || !/\p{L}/u.test(piece.charAt(hasSpace ? 1 : 0))) {
    return [{ text: piece, offset: 0 }];
  }
  const chunks: Array<{ text: string; offset: number }> = [];
  let offset = 0;
  let first = true;
  while (offset < piece.length) {
    const size = first && hasSpace ? MAX_LETTERS_PER_PIECE + 1 : MAX_LETTERS_PER_PIECE;
    chunks.push({ text: piece.slice(offset, offset + size), offset });
    offset += size;
    first = false;
  }
  return chunks;
}
