/**
 * The tokenizer the router must share with the engines, as the prompt block hasher uses it: the whole
 * prompt at once, or (`spans`) piece by piece, so a long prompt's tokenization can be remembered by
 * prefix and a conversation's next turn tokenizes only its new text.
 */

export interface Tokenize {
  (prompt: string): readonly number[];
  readonly spans?: TokenSpans;
}

export interface TokenSpans {
  /**
   * Appends the tokens of `text[from, to)` to `ids`, and to `ends` for each token the offset in `text`
   * where tokenization may resume after it: its end, or, for a token the tokenizer cut out of a longer
   * piece, that piece's end (resuming inside a piece would cut it differently). `from` must be such
   * an offset of the whole text (the start, or an `ends` value of a final token). A tokenizer may also
   * report `to` for tokens that text after `to` could still change.
   */
  encode(text: string, from: number, to: number, ids: number[], ends: number[]): void;
  /**
   * Tokens of a span that end at least this many characters before its end are the same tokens the
   * whole text has, whatever follows the span: the tokenizer looks no further ahead than this.
   */
  readonly stableMarginChars: number;
  /** Tokens the engine puts before the text (none: BOS is part of the rendered prompt). */
  readonly leading: readonly number[];
}
