/**
 * The router's Hugging Face tokenizer (byte-level BPE from tokenizer.json): a small tokenizer with
 * ids worked out by hand, the refusals, and — when Python's `tokenizers` is installed — tokenizers
 * trained by it and compared id for id on adversarial text.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BYTE_CHARACTERS } from "../src/kv-events/byte-level-bpe.js";
import { HfTokenizer } from "../src/kv-events/hf-tokenizer.js";
import { mulberry32 } from "../src/models/index.js";

/** GPT-2's byte characters: a space is "Ġ", a newline "Ċ". */
const G = BYTE_CHARACTERS[0x20] as string;
const C = BYTE_CHARACTERS[0x0a] as string;

/**
 * Ids: single characters 0-11, merges' results 20-30, added tokens 100-101.
 * Merges (rank order): h e, l l, he ll, hell o, Ġ w, o r, Ġw or, Ġwor l, Ġworl d, Ã ©.
 */
const vocab: Record<string, number> = {
  h: 0,
  e: 1,
  l: 2,
  o: 3,
  [G]: 4,
  w: 5,
  r: 6,
  d: 7,
  "!": 8,
  [C]: 9,
  Ã: 10,
  "©": 11,
  he: 20,
  ll: 21,
  hell: 22,
  hello: 23,
  [`${G}w`]: 24,
  or: 25,
  [`${G}wor`]: 26,
  [`${G}worl`]: 27,
  [`${G}world`]: 28,
  "Ã©": 29,
  wd: 30,
};
const merges = [
  "h e",
  "l l",
  "he ll",
  "hell o",
  `${G} w`,
  "o r",
  `${G}w or`,
  `${G}wor l`,
  `${G}worl d`,
  "Ã ©",
];

function smallTokenizer(
  overrides: { model?: object; added?: object[]; preTokenizer?: object } = {},
): HfTokenizer {
  return HfTokenizer.fromJson({
    version: "1.0",
    added_tokens: overrides.added ?? [
      { id: 100, content: "<|eot|>", special: true },
      { id: 101, content: "<tool>", special: false },
    ],
    normalizer: null,
    pre_tokenizer: overrides.preTokenizer ?? {
      type: "ByteLevel",
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    },
    post_processor: null,
    decoder: { type: "ByteLevel" },
    model: { type: "BPE", dropout: null, unk_token: null, vocab, merges, ...overrides.model },
  });
}

describe("HfTokenizer on a hand-made vocabulary", () => {
  const tokenizer = smallTokenizer();

  it("merges by rank within GPT-2 pre-tokens", () => {
    // "hello" | " world" | "!": h e l l o → he l l o → he ll o → hell o → hello.
    expect(tokenizer.encode("hello world!")).toEqual([23, 28, 8]);
    // No merge joins "he" and "l"; "ld" has none either.
    expect(tokenizer.encode("held")).toEqual([20, 2, 7]);
    // "\n\n" before a word: \s+(?!\S) leaves the last newline to a second piece.
    expect(tokenizer.encode("hello\n\nworld")).toEqual([23, 9, 9, 5, 25, 2, 7]);
  });

  it("maps UTF-8 bytes through GPT-2's table before merging", () => {
    // é = C3 A9 → "Ã©", one merge.
    expect(tokenizer.encode("é")).toEqual([29]);
    expect(tokenizer.encode(" é")).toEqual([4, 29]);
  });

  it("cuts added tokens out first, special or not, anywhere in the text", () => {
    expect(tokenizer.encode("hello<|eot|>hello")).toEqual([23, 100, 23]);
    expect(tokenizer.encode("<tool>world<|eot|>")).toEqual([101, 5, 25, 2, 7, 100]);
  });

  it("takes whole pre-tokens from the vocabulary first with ignore_merges", () => {
    expect(tokenizer.encode("wd")).toEqual([5, 7]);
    expect(smallTokenizer({ model: { ignore_merges: true } }).encode("wd")).toEqual([30]);
  });

  it("honours lstrip, rstrip and single_word on added tokens", () => {
    const stripping = smallTokenizer({
      added: [
        { id: 100, content: "<|eot|>", lstrip: true, rstrip: true },
        { id: 101, content: "he", single_word: true },
      ],
    });
    // The spaces on both sides of <|eot|> belong to it.
    expect(stripping.encode("hello  <|eot|> hello")).toEqual([23, 100, 23]);
    // "he" alone is the added token; inside "hello" it is not.
    expect(stripping.encode("he hello")).toEqual([101, 4, 23]);
    expect(stripping.encode("hello")).toEqual([23]);
  });

  it("encodes spans with the offsets where tokenizing may resume", () => {
    const text = "hello world hello<|eot|>world";
    const ids: number[] = [];
    const ends: number[] = [];
    tokenizer.encodeSpan(text, 0, text.length, ids, ends);
    expect(ids).toEqual(tokenizer.encode(text));
    // The trailing letter run ("world") and the token before it could change with more text.
    expect(ids).toEqual([23, 28, 4, 23, 100, 5, 25, 2, 7]);
    expect(ends).toEqual([5, 11, 17, 17, 29, 29, 29, 29, 29]);
  });

  it("refuses tokenizers it cannot reproduce, naming the field", () => {
    const refuse = (json: object) => () => HfTokenizer.fromJson(json);
    const base = {
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: false },
    };
    expect(refuse({ ...base, model: { type: "WordPiece", vocab: {}, merges: [] } })).toThrow(
      /model\.type: "WordPiece" is not supported/,
    );
    expect(refuse({ ...base, model: { type: "BPE", vocab, merges, dropout: 0.1 } })).toThrow(
      /model\.dropout/,
    );
    expect(refuse({ ...base, normalizer: { type: "Lowercase" }, model: { vocab, merges } })).toThrow(
      /normalizer\.type: normalizer "Lowercase"/,
    );
    expect(refuse({ ...base, pre_tokenizer: { type: "Metaspace" }, model: { vocab, merges } })).toThrow(
      /pre_tokenizer\.type: pre-tokenizer "Metaspace"/,
    );
    expect(
      refuse({
        ...base,
        pre_tokenizer: { type: "Split", pattern: { Regex: "a++" }, behavior: "Isolated" },
        model: { vocab, merges },
      }),
    ).toThrow(/no ByteLevel stage/);
    expect(
      refuse({
        ...base,
        pre_tokenizer: {
          type: "Sequence",
          pretokenizers: [
            { type: "Split", pattern: { Regex: "a++" }, behavior: "Isolated" },
            { type: "ByteLevel" },
          ],
        },
        model: { vocab, merges },
      }),
    ).toThrow(/possessive quantifier/);
    expect(refuse({ ...base, model: { vocab, merges: ["h q"] } })).toThrow(/merge 0 "h q"/);
  });
});

/** Adversarial material: special tokens, whitespace and newline runs, case, scripts, marks, emoji. */
const pieces = [
  "<|eot_id|>",
  "<|start_header_id|>",
  "<mask>",
  "<|eot",
  "_id|>",
  " lone",
  "solo",
  "café",
  " ",
  "  ",
  "\n",
  "\n\n",
  " \n ",
  "\r\n",
  "\t",
  "\u0085",
  "\u00a0",
  "\ufeff",
  "\u2028",
  "\u3000",
  "hello",
  " world",
  "Hello",
  " WORLD",
  "it's",
  " we'll",
  " I'M",
  " 'S",
  " ſtop",
  "'ll",
  "'ſtop",
  "'Ll",
  "12345",
  " 2024",
  "3.14",
  "x1y2",
  "٣٤٥",
  "!!",
  "...",
  " --",
  "$(",
  "@user",
  "#tag",
  "é",
  "e\u0301",
  "ñ",
  "\u1100\u1161\u11a8",
  "한국어",
  "日本語",
  "Ωμέγα",
  "ﬁ",
  "ｶﾞ",
  "😀",
  "👍🏽",
  "𝒜𝒷",
  "naïve",
  " Straße",
  "x".repeat(40),
  " ".repeat(30),
  "\n".repeat(5),
];

function randomText(random: () => number, length: number): string {
  let text = "";
  while (text.length < length) text += pieces[Math.floor(random() * pieces.length)];
  return text;
}

const corpusWords = [
  "the",
  "quick",
  "brown",
  "fox",
  "jumps",
  "over",
  "lazy",
  "dog",
  "hello",
  "world",
  "token",
];

function corpus(random: () => number): string[] {
  const lines: string[] = [];
  for (let line = 0; line < 400; line++) {
    const words: string[] = [];
    for (let word = 0; word < 12; word++) {
      words.push(
        random() < 0.7
          ? (corpusWords[Math.floor(random() * corpusWords.length)] as string)
          : randomText(random, 3),
      );
    }
    lines.push(words.join(random() < 0.8 ? " " : "\n"));
  }
  return lines;
}

const added = [
  { content: "<|eot_id|>", special: true },
  { content: "<|start_header_id|>", special: true },
  { content: "<mask>", lstrip: true },
  { content: "solo", single_word: true },
  { content: " lone", rstrip: true },
  { content: "café", normalized: true },
];

function pythonTokenizers(): boolean {
  const probe = spawnSync("python3", ["-c", "import tokenizers"], { encoding: "utf8" });
  return probe.status === 0;
}

const hasOracle = pythonTokenizers();
if (!hasOracle) {
  console.warn(
    "skipping the cross-check against Hugging Face tokenizers: python3 -m pip install tokenizers to run it",
  );
}

describe.skipIf(!hasOracle)("HfTokenizer against Hugging Face tokenizers (Python)", () => {
  it("encodes adversarial text to the same ids for GPT-2, Llama 3, Qwen 2 and digit-splitting tokenizers", () => {
    const random = mulberry32(2026);
    const dir = mkdtempSync(join(tmpdir(), "hf-oracle-"));
    try {
      const styles = [
        { style: "gpt2", ignoreMerges: false },
        { style: "llama3", ignoreMerges: true },
        { style: "qwen2", ignoreMerges: false },
        { style: "digits", ignoreMerges: false },
      ];
      const texts = Array.from({ length: 300 }, () => randomText(random, 1 + Math.floor(random() * 200)));
      texts.push(
        ...pieces,
        "",
        " ",
        "<|eot_id|><|eot_id|>",
        "a  <mask>  b",
        "solo solo",
        "xsolo",
        "lone lone  x",
      );
      const job = {
        corpus: corpus(random),
        texts,
        tokenizers: styles.map((style, index) => ({
          ...style,
          path: join(dir, `tokenizer-${index}.json`),
          vocabSize: 700,
          added,
        })),
      };
      const run = spawnSync(
        "python3",
        [new URL("./support/hf-tokenizer-oracle.py", import.meta.url).pathname],
        {
          input: JSON.stringify(job),
          encoding: "utf8",
          maxBuffer: 64 * 1024 * 1024,
          timeout: 120_000,
        },
      );
      expect(run.stderr).toBe("");
      const oracle = JSON.parse(run.stdout) as { version: string; encodings: number[][][] };
      job.tokenizers.forEach((spec, index) => {
        const json = JSON.parse(readFileSync(spec.path, "utf8"));
        // Real merges and every added token, or the comparison would prove little.
        expect(json.model.merges.length, spec.style).toBeGreaterThan(200);
        expect(json.added_tokens.length, spec.style).toBe(added.length);
        const tokenizer = HfTokenizer.fromJson(json);
        texts.forEach((text, textIndex) => {
          expect(tokenizer.encode(text), `${spec.style} ${JSON.stringify(text)}`).toEqual(
            oracle.encodings[index]?.[textIndex],
          );
        });
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
