/**
 * Which strategies the benchmark can run, built from the router's own registry. A strategy missing
 * from the registry is skipped with a note rather than failing the run, so the benchmark works while
 * strategies land one by one.
 */
import { type EngineListener, hashTokenBlocks } from "@strata/engine-sim";
import { BlockIndex, createPrecise, createSimTokenize } from "@strata/router";
import { buildStrategy, registeredStrategies, type Strategy } from "./router-api.js";
import { Random } from "./text.js";

export const strategyNames = [
  "round-robin",
  "least-load",
  "prefix-hash",
  "cache-aware",
  "precise",
  "kv-aware",
] as const;
export type StrategyName = (typeof strategyNames)[number];

export interface StrategyInstance {
  strategy: Strategy;
  /** Feeds the strategy's index from each engine's KV block events (precise only). */
  engineListener?: (endpointId: string) => EngineListener;
  /** Records that an engine cached this prompt, as its events would; returns blocks tracked (precise only). */
  recordCached?(endpointId: string, prompt: string): number;
}

/** A way to build fresh instances of one strategy for one run (each run starts with empty state). */
export interface StrategyBuild {
  name: StrategyName;
  /** `now`: the simulation's virtual clock, for strategies that read one (performance.now() without). */
  create(now?: () => number): StrategyInstance;
}

export interface StrategyPlan {
  runnable: StrategyBuild[];
  skipped: { name: StrategyName; reason: string }[];
}

export function planStrategies(): StrategyPlan {
  const runnable: StrategyBuild[] = [];
  const skipped: StrategyPlan["skipped"] = [];
  for (const name of strategyNames) {
    if (name === "precise") {
      // Built here, not through the registry: it needs an index fed by the engines and a tokenizer.
      runnable.push({ name, create: createPreciseInstance });
      continue;
    }
    if (!registeredStrategies().includes(name)) {
      skipped.push({ name, reason: "not in the router's strategy registry" });
      continue;
    }
    runnable.push({
      name,
      create: (now) => ({ strategy: buildStrategy(name, now ? { ...seededDeps(), now } : seededDeps()) }),
    });
  }
  return { runnable, skipped };
}

/** Strategies that break ties at random get the same sequence in every run. */
function seededDeps() {
  const random = new Random(42);
  return { random: () => random.next() };
}

/**
 * precise with its block index fed by every engine's BlockStored / BlockRemoved callbacks, delivered
 * at once (no transport delay), and engine-sim's tokenizer: the prompts are rendered with engine-sim's
 * chat template, so the router hashes exactly the tokens the engines cache.
 */
function createPreciseInstance(): StrategyInstance {
  const index = new BlockIndex();
  const tokenize = createSimTokenize();
  return {
    strategy: createPrecise({}, { index, tokenize }),
    engineListener: (endpointId) => ({
      onBlocksStored: (hashes) => index.add(endpointId, hashes),
      onBlocksRemoved: (hashes) => index.remove(endpointId, hashes),
    }),
    recordCached: (endpointId, prompt) => {
      index.add(endpointId, hashTokenBlocks([...tokenize(prompt)]));
      return index.size;
    },
  };
}
