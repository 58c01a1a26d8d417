/**
 * The best time to first token any router could reach on a workload: every request finds the longest
 * prefix that any earlier request computed (its prompt and its answer, as the engine caches both) and
 * never queues, so its TTFT is the engine's prefill of what remains, overhead + uncached × ms/token.
 * It assumes unlimited KV cache and that every earlier request has already finished, so no strategy
 * can beat it; a target below it cannot be met by placement.
 */
import { type EngineModelConfig, hashTokenBlocks } from "@strata/engine-sim";
import { percentile } from "./percentile.js";
import type { SimRequest } from "./workloads.js";

export interface LowerBound {
  ttft_p50_ms: number;
  ttft_p90_ms: number;
  ttft_p99_ms: number;
  /** Cached ÷ prompt tokens under the bound's assumptions: the best hit rate placement can reach. */
  hit_rate: number;
}

type Costs = Pick<EngineModelConfig, "blockSize" | "prefillOverheadMs" | "prefillMsPerToken" | "hashSeed">;

export function ttftLowerBound(requests: readonly SimRequest[], engine: Costs): LowerBound {
  const options = { blockSize: engine.blockSize, seed: engine.hashSeed };
  const seen = new Set<bigint>();
  const ttft: number[] = [];
  let cachedTokens = 0;
  let promptTokens = 0;
  for (const request of requests) {
    const prompt = request.promptTokenIds;
    const hashes = hashTokenBlocks(prompt, options);
    // As the engine does: the last prompt token is always computed, to produce the first token's logits.
    const maxHits = Math.floor((prompt.length - 1) / engine.blockSize);
    let hits = 0;
    while (hits < maxHits && seen.has(hashes[hits] as bigint)) hits++;
    const cached = hits * engine.blockSize;
    ttft.push(engine.prefillOverheadMs + (prompt.length - cached) * engine.prefillMsPerToken);
    cachedTokens += cached;
    promptTokens += prompt.length;
    // The answer's blocks are cached too, except its last token, which is never fed back.
    const computed = [...prompt, ...request.outputTokenIds.slice(0, -1)];
    for (const hash of hashTokenBlocks(computed, options)) seen.add(hash);
  }
  return {
    ttft_p50_ms: percentile(ttft, 0.5),
    ttft_p90_ms: percentile(ttft, 0.9),
    ttft_p99_ms: percentile(ttft, 0.99),
    hit_rate: promptTokens === 0 ? 0 : cachedTokens / promptTokens,
  };
}
