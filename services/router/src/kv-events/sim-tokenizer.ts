/**
 * The `tokenize` dependency of the precise strategy, built on engine-sim's tokenizer. The router's
 * prompt is the text the engine will see (chat messages rendered with the engine's template, shared
 * through the kit; completions with the BOS the engine adds), so it is encoded as-is.
 *
 * A vLLM fleet needs the served model's own tokenizer instead (hf-tokenizer.ts, from its
 * tokenizer.json), or the hashes will not match.
 */

import { type ChatMessage, Tokenizer } from "@strata/engine-sim";
import { renderChatTemplate } from "@strata/kit";
import type { Tokenize, TokenSpans } from "./tokenize.js";

export type { Tokenize, TokenSpans } from "./tokenize.js";

export interface SimTokenizeOptions {
  /** Must equal the engines' --vocab-size. */
  vocabSize?: number;
}

/**
 * engine-sim's tokenizer decides a piece from at most the longest special token (13 characters,
 * `<|assistant|>`) plus one character after the piece, and splits only letter runs, from their start;
 * 32 leaves room. A property test (kv-prompt-blocks.test.ts) checks span-wise against whole-text
 * tokenization on adversarial text, so a tokenizer change that breaks this fails there.
 */
const simStableMarginChars = 32;

export function createSimTokenize(options: SimTokenizeOptions = {}): Tokenize {
  const tokenizer = new Tokenizer({ vocabSize: options.vocabSize ?? 32_000 });
  const spans: TokenSpans = {
    stableMarginChars: simStableMarginChars,
    leading: [],
    encode(text, from, to, ids, ends) {
      const pieces = tokenizer.pieces(text.slice(from, to));
      const first = ends.length;
      for (const piece of pieces) {
        ids.push(piece.id);
        ends.push(from + piece.end);
      }
      // engine-sim cuts long letter runs into 5-letter tokens: tokens inside one run resume at its end.
      for (let index = pieces.length - 2; index >= 0; index--) {
        const piece = pieces[index] as (typeof pieces)[number];
        const next = pieces[index + 1] as (typeof pieces)[number];
        if (!piece.special && !next.special && insideLetterRun(text, from + piece.end)) {
          ends[first + index] = ends[first + index + 1] as number;
        }
      }
    },
  };
  return Object.assign((prompt: string) => tokenizer.encode(prompt), { spans });
}

const letter = /^\p{L}$/u;

/** Whether `offset` falls between two letters, or splits a surrogate pair: inside one letter run. */
function insideLetterRun(text: string, offset: number): boolean {
  const previous = text.charCodeAt(offset - 1);
  if (isHighSurrogate(previous)) return true;
  const pairStart = offset >= 2 && isLowSurrogate(previous) && isHighSurrogate(text.charCodeAt(offset - 2));
  const before = pairStart ? (text.codePointAt(offset - 2) as number) : previous;
  const after = text.codePointAt(offset);
  return after !== undefined && isLetter(before) && isLetter(after);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function isLetter(codePoint: number): boolean {
  return letter.test(String.fromCodePoint(codePoint));
}

/** The prompt text engine-sim builds from chat messages (what the gateway sends as `prompt`). */
export function renderSimChatPrompt(messages: readonly ChatMessage[]): string {
  return renderChatTemplate(messages);
}
