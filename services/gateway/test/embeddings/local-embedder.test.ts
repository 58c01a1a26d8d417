import { StrataError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { LocalEmbedder } from "../../src/embeddings/local-embedder.js";

const embedder = new LocalEmbedder(384);
const cosine = (a: string, b: string) => {
  const x = embedder.embedOne(a);
  const y = embedder.embedOne(b);
  return x.reduce((sum, value, index) => sum + value * y[index]!, 0);
};

describe("the built-in embedder", () => {
  it("places rewordings that share most words close together", () => {
    expect(cosine("How do I reset my password?", "how can I reset my password")).toBeGreaterThan(0.95);
    expect(cosine("What is the capital of France?", "what's the capital of france")).toBeGreaterThan(0.95);
    expect(cosine("Café opening hours on Sunday", "cafe opening hours on sunday!")).toBeGreaterThan(0.95);
    expect(
      cosine(
        "Summarize the following article about climate change and agriculture",
        "Summarise this article on climate change and its effects on agriculture",
      ),
    ).toBeGreaterThan(0.5);
  });

  it("places unrelated texts far apart, and one decisive word apart below a 0.95 threshold", () => {
    expect(cosine("How do I reset my password?", "What's the weather in Paris today?")).toBeLessThan(0.2);
    expect(cosine("Write a poem about the sea", "Explain Kubernetes pod scheduling")).toBeLessThan(0.2);
    expect(cosine("What is the capital of France?", "What is the capital of Spain?")).toBeLessThan(0.7);
    expect(cosine("Is it safe to eat raw eggs?", "Is it not safe to eat raw eggs?")).toBeLessThan(0.95);
  });

  it("is deterministic and returns unit vectors of the asked length", async () => {
    const { vectors, promptTokens } = await embedder.embed(["hello world", "hello world", ""]);
    expect(vectors[0]).toEqual(vectors[1]);
    expect(vectors[0]!.length).toBe(384);
    const norm = Math.sqrt(vectors[0]!.reduce((sum, value) => sum + value * value, 0));
    expect(norm).toBeCloseTo(1, 5);
    // No letters or digits: no features, the zero vector.
    expect(vectors[2]!.every((value) => value === 0)).toBe(true);
    expect(promptTokens).toBe(6);
    const { vectors: wide } = await embedder.embed(["hello world"], { dimensions: 512 });
    expect(wide[0]!.length).toBe(512);
    expect(new LocalEmbedder(384).id).toBe(embedder.id);
    expect(new LocalEmbedder(512).id).not.toBe(embedder.id);
  });

  it("refuses a vector length it cannot make", async () => {
    await expect(embedder.embed(["x"], { dimensions: 8 })).rejects.toThrow(StrataError);
    await expect(embedder.embed(["x"], { dimensions: 8 })).rejects.toMatchObject({
      code: "invalid_request",
      param: "dimensions",
    });
    expect(() => new LocalEmbedder(5_000)).toThrow(/32 to 4096/);
  });
});
