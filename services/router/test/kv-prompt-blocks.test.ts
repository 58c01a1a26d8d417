/**
 * The prompt block hasher must give exactly the hashes the engine computes over the whole prompt,
 * however the text falls on chunk boundaries and whatever it remembers from earlier prompts.
 */
import { hashTokenBlocks } from "@strata/engine-sim";
import { renderChatTemplate } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { createSimTokenize, PromptBlockHasher } from "../src/kv-events/index.js";
import { mulberry32 } from "../src/models/index.js";

const tokenize = createSimTokenize();

/** What the engine hashes: every full block of the prompt's tokens, minus the last if nothing follows it. */
function engineHashes(prompt: string, blockSize = 16, seed = "0"): bigint[] {
  const tokens = tokenize(prompt);
  const usable = Math.floor(Math.max(0, tokens.length - 1) / blockSize);
  return hashTokenBlocks(tokens.slice(0, usable * blockSize), { blockSize, seed });
}

/** Text built to straddle boundaries: long letter runs, special tokens, punctuation and whitespace runs. */
const pieces = [
  "<|user|>",
  "<|assistant|>",
  "<|end|>",
  "<s>",
  "<|en",
  "d|>",
  "<|",
  "|>",
  ".<|end|>",
  " ",
  "  ",
  "\n",
  "\n\n  ",
  "\t",
  "a",
  " the",
  " extraordinarily",
  "Pneumonoultramicroscopicsilicovolcanoconiosis",
  "12345678",
  " 42",
  "!!!",
  "...",
  "é",
  " naïve",
  "😀",
  "日本語",
  "𝒜𝒷𝒸𝒹",
  "x".repeat(70),
  " ".repeat(40),
];

function randomText(random: () => number, length: number): string {
  let text = "";
  while (text.length < length) text += pieces[Math.floor(random() * pieces.length)];
  return text;
}

describe("PromptBlockHasher", () => {
  it("matches whole-prompt tokenization and hashing on adversarial text, for any chunk size", () => {
    const random = mulberry32(7);
    for (const chunkChars of [5, 17, 64, 256]) {
      // Block size 1 makes every token its own block, so any token that differs shows.
      for (const blockSize of [1, 16]) {
        const hasher = new PromptBlockHasher(tokenize, { blockSize, hashSeed: "0", chunkChars });
        for (let round = 0; round < 40; round++) {
          const prompt = randomText(random, 50 + Math.floor(random() * 1500));
          expect(hasher.hashes(prompt)).toEqual(engineHashes(prompt, blockSize));
        }
      }
    }
  });

  it("stays exact when prompts share prefixes and cut them anywhere (conversation turns)", () => {
    const random = mulberry32(11);
    const hasher = new PromptBlockHasher(tokenize, { blockSize: 4, hashSeed: "seed", chunkChars: 32 });
    const base = randomText(random, 2000);
    for (let round = 0; round < 80; round++) {
      // A remembered prefix, cut at an arbitrary character, continued by different text.
      const cut = Math.floor(random() * base.length);
      const prompt = base.slice(0, cut) + randomText(random, 1 + Math.floor(random() * 300));
      expect(hasher.hashes(prompt)).toEqual(engineHashes(prompt, 4, "seed"));
    }
    expect(hasher.hits).toBeGreaterThan(hasher.misses);
  });

  it("hashes a chat conversation turn by turn, reusing the earlier turns", () => {
    const hasher = new PromptBlockHasher(tokenize, { blockSize: 16, hashSeed: "0", chunkChars: 128 });
    const messages = [{ role: "system", content: "You are terse. ".repeat(40) }];
    let previousMisses = 0;
    for (let turn = 0; turn < 6; turn++) {
      messages.push({ role: "user", content: `Question number ${turn}: what about item ${turn * 7}?` });
      const prompt = renderChatTemplate(messages);
      hasher.remember(prompt);
      const missesThisTurn = hasher.misses - previousMisses;
      previousMisses = hasher.misses;
      // After the first turn only the new text (a few chunks) is tokenized, not the whole history.
      if (turn > 0) expect(missesThisTurn).toBeLessThanOrEqual(3);
      expect(hasher.hashes(prompt)).toEqual(engineHashes(prompt));
      messages.push({ role: "assistant", content: `Answer ${turn}. `.repeat(10) });
    }
  });

  it("stops at the first block the caller rejects and estimates the rest", () => {
    const hasher = new PromptBlockHasher(tokenize, { blockSize: 16, hashSeed: "0", chunkChars: 64 });
    const prompt = "word ".repeat(2000);
    const all = engineHashes(prompt);
    const seen: bigint[] = [];
    const result = hasher.walk(prompt, (hash) => {
      seen.push(hash);
      return seen.length < 3;
    });
    expect(seen).toEqual(all.slice(0, 3));
    expect(result.exact).toBe(false);
    expect(result.blocks).toBeGreaterThan(all.length * 0.8);
    expect(result.blocks).toBeLessThan(all.length * 1.2);
    // Only the first chunks were tokenized.
    expect(hasher.size).toBeLessThanOrEqual(6);
  });

  it("forgets the least recently used chunks beyond maxChunks and recomputes them exactly", () => {
    const random = mulberry32(3);
    const hasher = new PromptBlockHasher(tokenize, {
      blockSize: 16,
      hashSeed: "0",
      chunkChars: 50,
      maxChunks: 8,
    });
    const prompts = Array.from({ length: 5 }, () => randomText(random, 1200));
    for (let round = 0; round < 3; round++) {
      for (const prompt of prompts) {
        expect(hasher.hashes(prompt)).toEqual(engineHashes(prompt));
        expect(hasher.size).toBeLessThanOrEqual(8);
      }
    }
  });

  it("works with a plain tokenize function (no spans): whole-prompt hashing", () => {
    const plain = (prompt: string) => tokenize(prompt);
    const hasher = new PromptBlockHasher(plain, { blockSize: 8, hashSeed: "0" });
    const prompt = renderChatTemplate([{ role: "user", content: "hello there, ".repeat(30) }]);
    expect(hasher.hashes(prompt)).toEqual(engineHashes(prompt, 8));
    expect(hasher.hashes("hi")).toEqual([]);
  });
});
