import { StrataError } from "@strata/kit";
import { estimateTokens } from "../openai/render-prompt.js";
import type { Embedder, EmbeddingBatch, EmbedOptions } from "./embedder.js";
import { countFeatures, type FeatureCounts } from "./text-features.js";

/**
 * Share of the vector's energy each feature family gets, whatever the text's length: words carry the
 * topic, content-word pairs some order, character grams robustness to inflection and typos.
 */
const FAMILY_WEIGHTS = { words: 0.45, pairs: 0.2, grams: 0.35 } as const;

export const LOCAL_EMBEDDER_MODEL = "strata-local-embed-v1";
export const MIN_LOCAL_DIMENSIONS = 32;
export const MAX_LOCAL_DIMENSIONS = 4096;

/**
 * The built-in embedder: deterministic, dependency-free and fast (tens of microseconds for a sentence).
 * Word unigrams, content-word bigrams and character 3–5-grams with sublinear term frequency
 * (1 + ln tf) are feature-hashed with a sign bit into `dimensions` buckets, each family normalised,
 * mixed by fixed weights and the sum L2-normalised.
 *
 * Good at: near-duplicates — the same question reworded with mostly the same words, reordered, with
 * different case, punctuation, accents or function words ("how do I" / "how can I") lands at cosine
 * ≳ 0.95; texts sharing no content words land near 0. Inflections and typos keep a partial overlap
 * through the character grams ("password"/"pasword" ≈ 0.5 in a short question).
 * Bad at: meaning without shared words ("car" vs "automobile" are unrelated to it), and it can rate
 * two texts that differ in one decisive word ("capital of France" vs "capital of Spain" ≈ 0.45)
 * higher than a real model would. For a semantic cache keep the threshold high with it (the default
 * 0.95), or plug in a real model through the OpenAI-compatible backend.
 */
export class LocalEmbedder implements Embedder {
  readonly model = LOCAL_EMBEDDER_MODEL;
  readonly provider = "local";
  readonly supportsDimensions = true;
  readonly id: string;

  constructor(readonly dimensions: number = 384) {
    checkDimensions(dimensions);
    this.id = `local:${LOCAL_EMBEDDER_MODEL}:${dimensions}`;
  }

  async embed(inputs: readonly string[], options: EmbedOptions = {}): Promise<EmbeddingBatch> {
    const dimensions = options.dimensions ?? this.dimensions;
    checkDimensions(dimensions);
    let promptTokens = 0;
    const vectors = inputs.map((text) => {
      promptTokens += estimateTokens(text);
      return this.embedOne(text, dimensions);
    });
    return { vectors, promptTokens };
  }

  /** Synchronous form for callers on the hot path (the semantic cache). */
  embedOne(text: string, dimensions = this.dimensions): Float32Array {
    const counts = countFeatures(text);
    const mixed = new Float64Array(dimensions);
    const scratch = new FamilyScratch(dimensions);
    scratch.add(mixed, counts.words, FAMILY_WEIGHTS.words, counts.wordWeight);
    scratch.add(mixed, counts.pairs, FAMILY_WEIGHTS.pairs);
    scratch.add(mixed, counts.grams, FAMILY_WEIGHTS.grams);
    return normalised(mixed);
  }
}

function checkDimensions(dimensions: number): void {
  if (
    !Number.isInteger(dimensions) ||
    dimensions < MIN_LOCAL_DIMENSIONS ||
    dimensions > MAX_LOCAL_DIMENSIONS
  ) {
    throw new StrataError(
      "invalid_request",
      `The built-in embedder supports dimensions from ${MIN_LOCAL_DIMENSIONS} to ${MAX_LOCAL_DIMENSIONS}; got ${dimensions}.`,
      { param: "dimensions" },
    );
  }
}

/**
 * One feature family hashed into its own vector, normalised and added to the mix with its weight.
 * Only the slots the family touched are visited, so a sentence costs its features, not its dimensions.
 */
class FamilyScratch {
  private readonly values: Float64Array;
  /** Marks slots already listed in `touched` (a value summing back to 0 must not list its slot twice). */
  private readonly marked: Uint8Array;
  private readonly touched: number[] = [];

  constructor(dimensions: number) {
    this.values = new Float64Array(dimensions);
    this.marked = new Uint8Array(dimensions);
  }

  add(
    target: Float64Array,
    counts: FeatureCounts["words"],
    weight: number,
    multipliers?: Map<number, number>,
  ): void {
    const { values, marked, touched } = this;
    const dimensions = values.length;
    touched.length = 0;
    for (const [hash, count] of counts) {
      const value = (1 + Math.log(count)) * (multipliers?.get(hash) ?? 1);
      const slot = (hash & 0x7fffffff) % dimensions;
      if (marked[slot] === 0) {
        marked[slot] = 1;
        touched.push(slot);
      }
      values[slot]! += hash & 0x80000000 ? -value : value;
    }
    let norm = 0;
    for (const slot of touched) norm += values[slot]! * values[slot]!;
    const scale = norm === 0 ? 0 : Math.sqrt(weight / norm);
    for (const slot of touched) {
      target[slot]! += values[slot]! * scale;
      values[slot] = 0;
      marked[slot] = 0;
    }
  }
}

function normalised(vector: Float64Array): Float32Array {
  let norm = 0;
  for (let index = 0; index < vector.length; index++) norm += vector[index]! * vector[index]!;
  const out = new Float32Array(vector.length);
  // An empty text (no letters or digits) has no features: the zero vector, similar to nothing.
  if (norm === 0) return out;
  const scale = 1 / Math.sqrt(norm);
  for (let index = 0; index < vector.length; index++) out[index] = vector[index]! * scale;
  return out;
}
