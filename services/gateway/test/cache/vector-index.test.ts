import { describe, expect, it } from "vitest";
import { HnswGraph } from "../../src/cache/hnsw-graph.js";
import { MemoryVectorIndex } from "../../src/cache/memory-vector-index.js";
import type { StoredAnswer } from "../../src/cache/stored-answer.js";
import { LocalEmbedder } from "../../src/embeddings/local-embedder.js";

/** Deterministic uniform numbers (a linear congruential generator), so every run builds the same graph. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function unitVector(random: () => number, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let index = 0; index < dimensions; index++) {
    vector[index] = random() - 0.5;
    norm += vector[index]! ** 2;
  }
  return vector.map((value) => value / Math.sqrt(norm));
}

/** `vector` moved a little, renormalised: a near-duplicate. */
function nudge(random: () => number, vector: Float32Array, amount: number): Float32Array {
  const moved = vector.map((value) => value + (random() - 0.5) * amount);
  const norm = Math.sqrt(moved.reduce((sum, value) => sum + value * value, 0));
  return moved.map((value) => value / norm);
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, index) => sum + value * b[index]!, 0);

const answer = (text: string): StoredAnswer => ({
  operation: "chat.completions",
  body: Buffer.from(text),
  servedModel: "m",
  promptTokens: 1,
  completionTokens: 1,
  storedAt: 0,
});

describe("the HNSW graph", () => {
  it("finds the true nearest neighbour for nearly every query, and every near-duplicate", () => {
    const random = seeded(7);
    const dimensions = 64;
    const graph = new HnswGraph({ dimensions, random });
    const vectors = Array.from({ length: 2_000 }, () => unitVector(random, dimensions));
    for (const vector of vectors) graph.add(vector);
    let exact = 0;
    for (let query = 0; query < 100; query++) {
      const probe = unitVector(random, dimensions);
      let best = 0;
      for (let index = 1; index < vectors.length; index++)
        if (dot(probe, vectors[index]!) > dot(probe, vectors[best]!)) best = index;
      if (graph.search(probe, 1, 64)[0]?.node === best) exact++;
    }
    expect(exact).toBeGreaterThanOrEqual(90);
    for (let query = 0; query < 100; query++) {
      const target = Math.floor(random() * vectors.length);
      const [found] = graph.search(nudge(random, vectors[target]!, 0.02), 1);
      expect(found?.node).toBe(target);
      expect(found!.similarity).toBeGreaterThan(0.95);
    }
  });

  it("keeps finding near-duplicates among many similar texts (clustered embeddings)", () => {
    // Support questions from a few templates share most of their words: dense clusters, where a
    // graph that links each node only to its nearest neighbours falls apart (85% found here).
    const random = seeded(1);
    const pick = (words: string) => {
      const list = words.split(" ");
      return list[Math.floor(random() * list.length)]!;
    };
    const verbs = "reset change cancel update export delete recover verify transfer upgrade renew share";
    const objects =
      "password account subscription invoice order email address payment profile license device report";
    const places = "app dashboard cli api laptop team client trial renewal";
    const syllables = "ka lo mi ra te su no vi da pe zo ri ha me tu";
    const questions = new Set<string>();
    while (questions.size < 20_000)
      questions.add(
        `How do I ${pick(verbs)} my ${pick(objects)} on the ${pick(places)} in ${pick(syllables)}${pick(syllables)}${pick(syllables)}?`,
      );
    const texts = [...questions];
    const embedder = new LocalEmbedder(128);
    const graph = new HnswGraph({ dimensions: 128, random });
    for (const text of texts) graph.add(embedder.embedOne(text));
    let found = 0;
    for (let query = 0; query < 200; query++) {
      const target = Math.floor(random() * texts.length);
      const reworded = texts[target]!.replace("How do I", "how can i").replace("?", "").toLowerCase();
      const [nearest] = graph.search(embedder.embedOne(reworded), 1);
      if (nearest && nearest.similarity >= 0.95) found++;
    }
    expect(found).toBeGreaterThanOrEqual(194);
  }, 180_000);

  it("never returns a removed node", () => {
    const random = seeded(3);
    const graph = new HnswGraph({ dimensions: 16, random });
    const vectors = Array.from({ length: 200 }, () => unitVector(random, 16));
    for (const vector of vectors) graph.add(vector);
    graph.remove(42);
    const results = graph.search(vectors[42]!, 5);
    expect(results.map((result) => result.node)).not.toContain(42);
    expect(results).toHaveLength(5);
    expect(() => graph.add(new Float32Array(15))).toThrow(/dimensions/);
  });
});

describe("the in-process semantic index", () => {
  const dimensions = 32;

  it("answers only from the same tenant and bucket, above the threshold", async () => {
    const random = seeded(11);
    const index = new MemoryVectorIndex({ maxEntries: 1_000, maxBytes: 1 << 30, random });
    const question = unitVector(random, dimensions);
    await index.insert({
      tenantId: "a",
      bucket: "b1",
      vector: question,
      answer: answer("A"),
      expiresAt: Number.MAX_SAFE_INTEGER,
    });
    const near = nudge(random, question, 0.05);
    const match = await index.search("a", "b1", near, 0.9);
    expect(match?.answer.body.toString()).toBe("A");
    expect(match!.similarity).toBeCloseTo(dot(near, question), 5);
    expect(await index.search("other-tenant", "b1", near, 0.9)).toBeUndefined();
    expect(await index.search("a", "other-bucket", near, 0.9)).toBeUndefined();
    expect(await index.search("a", "b1", unitVector(random, dimensions), 0.9)).toBeUndefined();
    expect(await index.search("a", "b1", near, 0.99999)).toBeUndefined();
  });

  it("expires entries and sweeps them by the injected clock", async () => {
    const random = seeded(5);
    let now = 0;
    const index = new MemoryVectorIndex({ maxEntries: 1_000, maxBytes: 1 << 30, random, now: () => now });
    const vector = unitVector(random, dimensions);
    await index.insert({ tenantId: "a", bucket: "b", vector, answer: answer("old"), expiresAt: 1_000 });
    expect(await index.search("a", "b", vector, 0.9)).toBeDefined();
    now = 1_000;
    expect(await index.search("a", "b", vector, 0.9)).toBeUndefined();
    await index.insert({ tenantId: "a", bucket: "c", vector, answer: answer("x"), expiresAt: 1_500 });
    now = 2_000;
    await index.sweep();
    expect(index.entries).toBe(0);
    expect(index.bytes).toBe(0);
  });

  it("keeps within its entry bound by evicting the oldest, dropping dead segments whole", async () => {
    const random = seeded(9);
    const index = new MemoryVectorIndex({ maxEntries: 50, maxBytes: 1 << 30, segmentSize: 20, random });
    const vectors = Array.from({ length: 120 }, () => unitVector(random, dimensions));
    for (const [position, vector] of vectors.entries())
      await index.insert({
        tenantId: "a",
        bucket: "b",
        vector,
        answer: answer(`#${position}`),
        expiresAt: Number.MAX_SAFE_INTEGER,
      });
    expect(index.entries).toBeLessThanOrEqual(50);
    expect(await index.search("a", "b", vectors[0]!, 0.999)).toBeUndefined();
    expect((await index.search("a", "b", vectors[119]!, 0.999))?.answer.body.toString()).toBe("#119");
    expect((await index.search("a", "b", vectors[100]!, 0.999))?.answer.body.toString()).toBe("#100");
  });

  it("keeps within its byte bound", async () => {
    const random = seeded(13);
    const index = new MemoryVectorIndex({ maxEntries: 1_000, maxBytes: 20_000, random });
    for (let count = 0; count < 100; count++)
      await index.insert({
        tenantId: "a",
        bucket: "b",
        vector: unitVector(random, dimensions),
        answer: answer("x".repeat(1_000)),
        expiresAt: Number.MAX_SAFE_INTEGER,
      });
    expect(index.bytes).toBeLessThanOrEqual(20_000);
    expect(index.entries).toBeGreaterThan(5);
  });
});
