import { describe, expect, it } from "vitest";
import { renderChatTemplate } from "../src/model/chat-template.js";
import { BOS_TOKEN_ID, SPECIAL_TOKENS, Tokenizer } from "../src/model/tokenizer.js";

const ENGLISH =
  "Kubernetes is an open-source container orchestration system for automating software deployment, " +
  "scaling, and management. Originally designed by Google, the project is now maintained by a worldwide " +
  "community of contributors, and the trademark is held by the Cloud Native Computing Foundation.";

describe("Tokenizer", () => {
  it("is deterministic across instances", () => {
    expect(new Tokenizer().encode(ENGLISH)).toEqual(new Tokenizer().encode(ENGLISH));
  });

  it("is lossless: pieces concatenate back to the input, offsets included", () => {
    const text = "Hello,  world!\n\n  Ünïcödé 12345 tokens\tend";
    const pieces = new Tokenizer().pieces(text);
    expect(pieces.map((piece) => piece.text).join("")).toBe(text);
    for (const piece of pieces) expect(text.slice(piece.start, piece.end)).toBe(piece.text);
  });

  it("yields about four characters per token on English", () => {
    const ratio = ENGLISH.length / new Tokenizer().count(ENGLISH);
    expect(ratio).toBeGreaterThan(3.5);
    expect(ratio).toBeLessThan(4.5);
  });

  it("maps ids into the vocabulary and distinguishes pieces", () => {
    const tokenizer = new Tokenizer({ vocabSize: 5000 });
    const ids = tokenizer.encode(ENGLISH);
    for (const id of ids) {
      expect(id).toBeGreaterThanOrEqual(100);
      expect(id).toBeLessThan(5000);
    }
    expect(tokenizer.pieceId(" the")).not.toBe(tokenizer.pieceId(" The"));
  });

  it("adds BOS only when asked, and renders chat special tokens as single tokens", () => {
    const tokenizer = new Tokenizer();
    expect(tokenizer.encode("hi", { addSpecialTokens: true })[0]).toBe(BOS_TOKEN_ID);
    expect(tokenizer.encode("hi")[0]).not.toBe(BOS_TOKEN_ID);
    const rendered = renderChatTemplate([{ role: "user", content: "hi" }]);
    expect(rendered).toBe("<s><|user|>\nhi<|end|>\n<|assistant|>\n");
    const ids = tokenizer.encode(rendered);
    expect(ids.slice(0, 2)).toEqual([BOS_TOKEN_ID, SPECIAL_TOKENS["<|user|>"]]);
    expect(ids.at(-2)).toBe(SPECIAL_TOKENS["<|assistant|>"]);
  });
});
