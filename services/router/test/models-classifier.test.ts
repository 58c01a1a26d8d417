import { renderChatTemplate } from "@strata/kit";
import { describe, expect, it } from "vitest";
import {
  classificationText,
  defaultTrainingFile,
  FeatureExtractor,
  type LabelledText,
  LinearClassifier,
  loadTrainingFile,
  mulberry32,
} from "../src/models/index.js";

const shipped = loadTrainingFile(defaultTrainingFile);

// Map.groupBy arrives in Node 21; the project supports Node 20.
function groupByLabel(examples: readonly LabelledText[]): Map<string, LabelledText[]> {
  const groups = new Map<string, LabelledText[]>();
  for (const example of examples) groups.set(example.label, [...(groups.get(example.label) ?? []), example]);
  return groups;
}

/** Stratified k-fold split with a seeded shuffle: each label is spread evenly over the folds. */
function folds(examples: readonly LabelledText[], count: number, seed: number): LabelledText[][] {
  const random = mulberry32(seed);
  const result: LabelledText[][] = Array.from({ length: count }, () => []);
  const byLabel = groupByLabel(examples);
  for (const group of byLabel.values()) {
    const shuffled = group
      .map((example) => ({ example, key: random() }))
      .sort((a, b) => a.key - b.key)
      .map(({ example }) => example);
    shuffled.forEach((example, index) => {
      result[index % count]!.push(example);
    });
  }
  return result;
}

describe("the shipped training set", () => {
  it("is balanced enough to learn both tiers", () => {
    const counts = groupByLabel(shipped);
    expect([...counts.keys()].sort()).toEqual(["large", "small"]);
    expect(shipped.length).toBeGreaterThanOrEqual(150);
    for (const group of counts.values()) expect(group.length / shipped.length).toBeGreaterThan(0.4);
  });

  it("classifies held-out prompts accurately (5-fold cross-validation)", () => {
    const parts = folds(shipped, 5, 20_240_601);
    const accuracies = parts.map((test, index) => {
      const train = parts.filter((_, other) => other !== index).flat();
      const model = LinearClassifier.train(train);
      const correct = test.filter((example) => model.predict(example.text).label === example.label).length;
      return correct / test.length;
    });
    const mean = accuracies.reduce((sum, accuracy) => sum + accuracy, 0) / accuracies.length;
    console.log(
      `held-out accuracy on ${shipped.length} shipped examples: mean ${mean.toFixed(3)}, folds ${accuracies.map((accuracy) => accuracy.toFixed(3)).join(" ")}`,
    );
    expect(mean).toBeGreaterThan(0.9);
    expect(Math.min(...accuracies)).toBeGreaterThan(0.85);
  });
});

describe("LinearClassifier", () => {
  it("trains deterministically: the same data and seed give the same predictions", () => {
    const first = LinearClassifier.train(shipped, { seed: 7 });
    const second = LinearClassifier.train(shipped, { seed: 7 });
    const probes = [
      "hey",
      "Implement a skip list in C",
      "What is 2+2?",
      "Compare Kant and Hume on causation.",
    ];
    for (const probe of probes) expect(second.predict(probe)).toEqual(first.predict(probe));
  });

  it("returns a softmax confidence in (0.5, 1] for two labels, higher for clear-cut prompts", () => {
    const model = LinearClassifier.train(shipped);
    const clear = model.predict("hello, good morning!");
    expect(clear.label).toBe("small");
    expect(clear.confidence).toBeGreaterThan(0.8);
    expect(clear.confidence).toBeLessThanOrEqual(1);
    const vague = model.predict("zxqv");
    expect(vague.confidence).toBeGreaterThan(0.5);
    expect(vague.confidence).toBeLessThan(clear.confidence);
  });

  // Speed is measured outside tests; this checks a few thousand examples train into a usable model.
  it("trains on a few thousand examples", () => {
    const many = Array.from({ length: 3000 }, (_, index) => {
      const example = shipped[index % shipped.length]!;
      return { text: `${example.text} (case ${index})`, label: example.label };
    });
    const model = LinearClassifier.train(many);
    const prompt = "Write a Python function that merges two sorted lists and explain its complexity.";
    expect(model.predict(prompt).label).toBe("large");
  });
});

describe("FeatureExtractor", () => {
  it("produces an L2-normalised sparse vector with unique buckets", () => {
    const vector = new FeatureExtractor().extract("the the the cat sat");
    const norm = Math.hypot(...vector.values);
    expect(norm).toBeCloseTo(1, 5);
    expect(new Set(vector.indices).size).toBe(vector.indices.length);
    expect(vector.indices.every((index) => index >= 0 && index < 2 ** 18)).toBe(true);
  });

  it("handles long prompts (thousands of distinct n-grams) the same way every time", () => {
    const extractor = new FeatureExtractor();
    const long = shipped.map((example) => example.text).join(" ");
    const vector = extractor.extract(long);
    expect(vector.indices.length).toBeGreaterThan(10_000);
    expect(new Set(vector.indices).size).toBe(vector.indices.length);
    expect(Math.hypot(...vector.values)).toBeCloseTo(1, 4);
    expect(extractor.extract(long)).toEqual(vector);
    expect(new FeatureExtractor().extract(long)).toEqual(vector);
  });

  it("resets between calls, so one extractor can serve every request", () => {
    const extractor = new FeatureExtractor();
    const first = extractor.extract("Prove the theorem.");
    extractor.extract("something else entirely");
    expect(extractor.extract("Prove the theorem.")).toEqual(first);
    // An empty prompt still has its sentence-boundary bigram, so it is a valid (tiny) vector.
    expect(extractor.extract("").indices.length).toBe(1);
  });
});

describe("classificationText", () => {
  it("takes the last user turn of a rendered chat", () => {
    const prompt = "system: long rules\nuser: first question\nassistant: answer\nuser: the real question\n";
    expect(classificationText(prompt, 100)).toBe("the real question\n");
    expect(classificationText("user: only turn", 100)).toBe("only turn");
    expect(classificationText("plain completion prompt", 100)).toBe("plain completion prompt");
  });

  it("takes the last user turn of a chat rendered with the engine's template", () => {
    const prompt = renderChatTemplate([
      { role: "system", content: "long rules" },
      { role: "user", content: "first question" },
      { role: "assistant", content: "answer" },
      { role: "user", content: "the real question" },
    ]);
    expect(classificationText(prompt, 100)).toBe("the real question");
  });

  it("keeps only the last maxChars characters", () => {
    expect(classificationText(`user: ${"a".repeat(50)}tail`, 4)).toBe("tail");
  });
});
