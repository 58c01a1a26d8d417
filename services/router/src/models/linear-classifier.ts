import { FeatureExtractor, featureBits, type SparseVector } from "./hashed-features.js";

export interface LabelledText {
  readonly text: string;
  readonly label: string;
}

export interface LinearTrainingOptions {
  /** Passes over the data; a few thousand short texts converge well within ten. */
  epochs?: number;
  learningRate?: number;
  /** L2 penalty; keeps confidences honest on texts unlike the training set instead of saturating at 1. */
  l2?: number;
  /** Seeds the per-epoch shuffle, so the same file always trains the same model. */
  seed?: number;
}

export interface Prediction {
  readonly label: string;
  /** Softmax probability of `label`, in [0, 1]. */
  readonly confidence: number;
}

const defaults: Required<LinearTrainingOptions> = { epochs: 10, learningRate: 0.5, l2: 1e-5, seed: 1 };
const dimensions = 1 << featureBits;

/**
 * Multinomial logistic regression over hashed n-gram features, trained by SGD. Chosen over an averaged
 * perceptron because the router needs a calibrated-ish confidence to compare against a threshold, and
 * softmax probabilities give one for free.
 */
export class LinearClassifier {
  private constructor(
    readonly labels: readonly string[],
    // Row-major by bucket (bucket * classes + class) so one feature's weights share a cache line.
    private readonly weights: Float32Array,
    private readonly bias: Float64Array,
    private readonly extractor: FeatureExtractor,
  ) {}

  static train(
    examples: readonly LabelledText[],
    options: LinearTrainingOptions = {},
    extractor: FeatureExtractor = new FeatureExtractor(),
  ): LinearClassifier {
    const { epochs, learningRate, l2, seed } = { ...defaults, ...options };
    const labels = [...new Set(examples.map((example) => example.label))].sort();
    if (labels.length < 2) throw new Error(`training needs at least two labels, got ${labels.length}`);
    const classes = labels.length;
    const labelIndex = new Map(labels.map((label, index) => [label, index]));
    const vectors = examples.map((example) => extractor.extract(example.text));
    const targets = examples.map((example) => labelIndex.get(example.label)!);
    const weights = new Float32Array(dimensions * classes);
    const bias = new Float64Array(classes);
    const order = examples.map((_, index) => index);
    const random = mulberry32(seed);
    const scores = new Float64Array(classes);
    // The weights are stored as `scale * weights`: L2 decay then costs one multiply per step instead
    // of a pass over all 2^18 buckets (Bottou, "Stochastic Gradient Descent Tricks", section 5.1).
    let scale = 1;
    let updates = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      shuffle(order, random);
      for (const exampleIndex of order) {
        const rate = learningRate / (1 + learningRate * l2 * updates++);
        const vector = vectors[exampleIndex]!;
        logits(vector, weights, bias, scale, scores);
        softmaxInPlace(scores);
        scale *= 1 - rate * l2;
        const target = targets[exampleIndex]!;
        for (let label = 0; label < classes; label++) {
          const gradient = scores[label]! - (label === target ? 1 : 0);
          bias[label]! -= rate * gradient;
          const delta = (rate * gradient) / scale;
          for (let position = 0; position < vector.indices.length; position++) {
            weights[vector.indices[position]! * classes + label]! -= delta * vector.values[position]!;
          }
        }
        if (scale < 1e-6) scale = rescale(weights, scale);
      }
    }
    rescale(weights, scale);
    return new LinearClassifier(labels, weights, bias, extractor);
  }

  predict(text: string): Prediction {
    const scores = new Float64Array(this.labels.length);
    logits(this.extractor.extract(text), this.weights, this.bias, 1, scores);
    softmaxInPlace(scores);
    let best = 0;
    for (let label = 1; label < scores.length; label++) if (scores[label]! > scores[best]!) best = label;
    return { label: this.labels[best]!, confidence: scores[best]! };
  }
}

function logits(
  vector: SparseVector,
  weights: Float32Array,
  bias: Float64Array,
  scale: number,
  out: Float64Array,
): void {
  const classes = out.length;
  for (let label = 0; label < classes; label++) {
    let sum = 0;
    for (let position = 0; position < vector.indices.length; position++) {
      sum += weights[vector.indices[position]! * classes + label]! * vector.values[position]!;
    }
    out[label] = bias[label]! + scale * sum;
  }
}

function softmaxInPlace(scores: Float64Array): void {
  let max = Number.NEGATIVE_INFINITY;
  for (const score of scores) max = Math.max(max, score);
  let total = 0;
  for (let index = 0; index < scores.length; index++) {
    scores[index] = Math.exp(scores[index]! - max);
    total += scores[index]!;
  }
  for (let index = 0; index < scores.length; index++) scores[index]! /= total;
}

function rescale(weights: Float32Array, scale: number): number {
  for (let index = 0; index < weights.length; index++) weights[index]! *= scale;
  return 1;
}

/** A small seeded PRNG; Math.random would make two trainings of the same file differ. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function shuffle(items: number[], random: () => number): void {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
}
