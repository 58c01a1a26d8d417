/**
 * The prompt block hasher over a Hugging Face tokenizer and vLLM's block hashes must give exactly the
 * keys of the whole prompt tokenized and hashed at once, wherever its chunks cut BPE pre-tokens,
 * added tokens, whitespace runs or normalization clusters, and whatever it remembers.
 */
import { describe, expect, it } from "vitest";
import { blockKeys } from "../src/kv-events/block-hash-scheme.js";
import { createHfTokenize, HfTokenizer } from "../src/kv-events/hf-tokenizer.js";
import { PromptBlockHasher } from "../src/kv-events/prompt-block-hasher.js";
import type { Tokenize, TokenSpans } from "../src/kv-events/tokenize.js";
import { vllmBlockHashScheme } from "../src/kv-events/vllm-block-hash.js";
import { mulberry32 } from "../src/models/index.js";
import {
  type AddedTokenInput,
  byteLevelTokenizerJson,
  type TokenizerStyle,
} from "./support/byte-level-tokenizer-json.js";

const pieces = [
  "<|begin_of_text|>",
  "<|eot_id|>",
  "<|start_header_id|>",
  "<|eot",
  "_id|>",
  "<|",
  "|>",
  "<mask>",
  "solo",
  " lone",
  "café",
  "cafe\u0301",
  " ",
  "  ",
  "\n",
  "\n\n",
  " \n ",
  "\r\n",
  "\t",
  "\u0085",
  "\u00a0",
  "\u3000",
  "hello",
  " world",
  " The",
  " extraordinarily",
  "Pneumonoultramicroscopicsilicovolcanoconiosis",
  "it's",
  " we'll",
  " I'M",
  "'ſtop",
  "12345678",
  " 2024",
  "3.14",
  "!!!",
  "...",
  " --",
  "$(",
  "é",
  "e\u0301\u0301",
  "한국어",
  "\u1100\u1161",
  "日本語",
  "ﬁ",
  "ｶﾞ",
  "😀",
  "👍🏽",
  "𝒜𝒷",
  " naïve",
  "x".repeat(70),
  " ".repeat(40),
  "\n".repeat(6),
  "1".repeat(20),
  // Whitespace runs longer than any margin, with newlines after them: Llama 3's `\s*[\r\n]+` re-cuts
  // the whole run depending on what comes after a chunk boundary inside it.
  " ".repeat(120),
  `\n${" ".repeat(100)}\n`,
  "\t".repeat(80),
];

function randomText(random: () => number, length: number): string {
  let text = "";
  while (text.length < length) text += pieces[Math.floor(random() * pieces.length)];
  return text;
}

const corpus = (() => {
  const random = mulberry32(5);
  return Array.from({ length: 300 }, () => randomText(random, 120));
})();

const added: AddedTokenInput[] = [
  { content: "<|begin_of_text|>", special: true },
  { content: "<|eot_id|>", special: true },
  { content: "<|start_header_id|>", special: true },
];
const stripping: AddedTokenInput[] = [
  ...added,
  { content: "<mask>", lstrip: true },
  { content: " lone", rstrip: true },
  { content: "solo", single_word: true },
  { content: "café", normalized: true },
];

function tokenizer(style: TokenizerStyle, tokens = added, ignoreMerges = false): HfTokenizer {
  return HfTokenizer.fromJson(
    byteLevelTokenizerJson(corpus, { style, mergeCount: 300, added: tokens, ignoreMerges }),
  );
}

/** What vLLM hashes: every full block of the prompt's tokens, minus the last if nothing follows it. */
function engineKeys(hf: HfTokenizer, prompt: string, blockSize: number, seed = "0"): bigint[] {
  const tokens = hf.encode(prompt);
  const usable = Math.floor(Math.max(0, tokens.length - 1) / blockSize);
  return blockKeys(vllmBlockHashScheme("sha256_cbor", seed), tokens.slice(0, usable * blockSize), blockSize);
}

const cases: [string, HfTokenizer][] = [
  ["llama3", tokenizer("llama3", added, true)],
  ["gpt2", tokenizer("gpt2")],
  ["gpt2 + add_prefix_space", tokenizer("gpt2-prefix-space")],
  ["qwen2-nfc with stripping tokens", tokenizer("qwen2-nfc", stripping)],
  ["digits + add_prefix_space", tokenizer("digits-prefix-space")],
];

describe.each(cases)("PromptBlockHasher over a %s tokenizer", (_name, hf) => {
  const tokenize = createHfTokenize(hf);

  it("matches whole-prompt tokenization and vLLM hashing on adversarial text, for any chunk size", () => {
    const random = mulberry32(7);
    for (const chunkChars of [5, 17, 64, 256]) {
      // Block size 1 makes every token its own block, so any token that differs shows.
      for (const blockSize of [1, 16]) {
        const scheme = vllmBlockHashScheme("sha256_cbor", "0");
        const hasher = new PromptBlockHasher(tokenize, { blockSize, scheme, chunkChars });
        for (let round = 0; round < 12; round++) {
          const prompt = randomText(random, 50 + Math.floor(random() * 1200));
          expect(hasher.hashes(prompt)).toEqual(engineKeys(hf, prompt, blockSize));
        }
      }
    }
  });

  it("stays exact when prompts share prefixes cut anywhere, and reuses what it remembered", () => {
    const random = mulberry32(11);
    const scheme = vllmBlockHashScheme("sha256", "42");
    const hasher = new PromptBlockHasher(tokenize, { blockSize: 4, scheme, chunkChars: 32 });
    const base = randomText(random, 2000);
    for (let round = 0; round < 40; round++) {
      const cut = Math.floor(random() * base.length);
      const prompt = base.slice(0, cut) + randomText(random, 1 + Math.floor(random() * 300));
      const tokens = hf.encode(prompt);
      const usable = Math.floor(Math.max(0, tokens.length - 1) / 4);
      expect(hasher.hashes(prompt)).toEqual(blockKeys(scheme, tokens.slice(0, usable * 4), 4));
    }
    expect(hasher.hits).toBeGreaterThan(hasher.misses);
  });
});

describe("PromptBlockHasher over a Llama 3 tokenizer", () => {
  const hf = tokenizer("llama3", added, true);
  const tokenize = createHfTokenize(hf);

  it("tokenizes only a conversation's new text on its next turn", () => {
    const hasher = new PromptBlockHasher(tokenize, {
      blockSize: 16,
      scheme: vllmBlockHashScheme("sha256_cbor", "0"),
      chunkChars: 128,
    });
    let prompt = `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n${"You are terse. ".repeat(60)}<|eot_id|>`;
    let previousMisses = 0;
    for (let turn = 0; turn < 6; turn++) {
      prompt += `<|start_header_id|>user<|end_header_id|>\n\nQuestion ${turn}: what about item ${turn * 7}?<|eot_id|>`;
      hasher.remember(prompt);
      const missesThisTurn = hasher.misses - previousMisses;
      previousMisses = hasher.misses;
      if (turn > 0) expect(missesThisTurn).toBeLessThanOrEqual(3);
      expect(hasher.hashes(prompt)).toEqual(engineKeys(hf, prompt, 16));
      prompt += `<|start_header_id|>assistant<|end_header_id|>\n\n${`Answer ${turn}. `.repeat(10)}<|eot_id|>`;
    }
  });

  it("stays linear on a prompt that is one unbroken run, and exact", () => {
    const spans = tokenize.spans as TokenSpans;
    let encodedChars = 0;
    const counting: Tokenize = Object.assign((prompt: string) => tokenize(prompt), {
      spans: {
        ...spans,
        encode(text: string, from: number, to: number, ids: number[], ends: number[]) {
          encodedChars += to - from;
          spans.encode(text, from, to, ids, ends);
        },
      },
    });
    const scheme = vllmBlockHashScheme("sha256_cbor", "0");
    const hasher = new PromptBlockHasher(counting, { blockSize: 16, scheme, chunkChars: 256 });
    const prompt = `${"a".repeat(60_000)} done`;
    expect(hasher.hashes(prompt)).toEqual(engineKeys(hf, prompt, 16));
    // No token of the run is final before it ends; re-tokenizing it at every chunk would cost
    // ~60000²/512 ≈ 7M characters, tokenizing only at doubling spans a few times its length.
    expect(encodedChars).toBeLessThan(4 * prompt.length);
  });
});
