/**
 * Builds byte-level BPE tokenizer.json documents for tests: GPT-2's 256 byte characters, then merges
 * learned from a corpus by plain frequency counting (most frequent adjacent pair first, ties by
 * string order), with the pre-tokenizer and added tokens of the chosen style. Not a faithful trainer,
 * just a deterministic source of realistic vocabularies.
 */
import { BYTE_CHARACTERS } from "../../src/kv-events/byte-level-bpe.js";
import { translateOnigurumaPattern } from "../../src/kv-events/oniguruma-regex.js";

export const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

export type TokenizerStyle = "llama3" | "gpt2" | "gpt2-prefix-space" | "qwen2-nfc" | "digits-prefix-space";

export interface AddedTokenInput {
  content: string;
  special?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  single_word?: boolean;
  normalized?: boolean;
}

function preTokenizer(style: TokenizerStyle): object {
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false };
  switch (style) {
    case "llama3":
    case "qwen2-nfc":
      return {
        type: "Sequence",
        pretokenizers: [
          { type: "Split", pattern: { Regex: LLAMA3_PATTERN }, behavior: "Isolated", invert: false },
          byteLevel,
        ],
      };
    case "gpt2":
      return { ...byteLevel, use_regex: true };
    case "gpt2-prefix-space":
      return { ...byteLevel, add_prefix_space: true, use_regex: true };
    case "digits-prefix-space":
      return {
        type: "Sequence",
        pretokenizers: [
          { type: "Digits", individual_digits: true },
          { ...byteLevel, add_prefix_space: true, use_regex: true },
        ],
      };
  }
}

/** Learns `mergeCount` merges over the corpus' pre-tokens and returns the tokenizer.json object. */
export function byteLevelTokenizerJson(
  corpus: readonly string[],
  options: {
    style: TokenizerStyle;
    mergeCount: number;
    added?: readonly AddedTokenInput[];
    ignoreMerges?: boolean;
  },
): object {
  const pattern = options.style.startsWith("gpt2") ? GPT2_PATTERN : LLAMA3_PATTERN;
  const splitter = new RegExp(translateOnigurumaPattern(pattern).source, "gu");
  const encoder = new TextEncoder();
  const words = new Map<string, number>();
  for (const line of corpus) {
    for (const match of line.matchAll(splitter)) {
      let word = "";
      for (const byte of encoder.encode(match[0])) word += BYTE_CHARACTERS[byte];
      words.set(word, (words.get(word) ?? 0) + 1);
    }
  }
  const vocab = new Map<string, number>(BYTE_CHARACTERS.map((char, index) => [char, index]));
  const merges: string[] = [];
  let symbols = [...words].map(([word, count]) => ({ parts: [...word], count }));
  for (let round = 0; round < options.mergeCount; round++) {
    const pairs = new Map<string, number>();
    for (const { parts, count } of symbols) {
      for (let index = 0; index + 1 < parts.length; index++) {
        const key = `${parts[index]} ${parts[index + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    const best = [...pairs].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    if (!best) break;
    const [left, right] = best[0].split(" ") as [string, string];
    merges.push(best[0]);
    if (!vocab.has(left + right)) vocab.set(left + right, vocab.size);
    symbols = symbols.map(({ parts, count }) => {
      const merged: string[] = [];
      for (let index = 0; index < parts.length; index++) {
        if (parts[index] === left && parts[index + 1] === right) {
          merged.push(left + right);
          index++;
        } else merged.push(parts[index] as string);
      }
      return { parts: merged, count };
    });
  }
  const added = (options.added ?? []).map((token, index) => ({
    id: vocab.size + index,
    content: token.content,
    single_word: token.single_word ?? false,
    lstrip: token.lstrip ?? false,
    rstrip: token.rstrip ?? false,
    normalized: token.normalized ?? false,
    special: token.special ?? false,
  }));
  return {
    version: "1.0",
    added_tokens: added,
    normalizer: options.style === "qwen2-nfc" ? { type: "NFC" } : null,
    pre_tokenizer: preTokenizer(options.style),
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: options.ignoreMerges ?? false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
}
