/**
 * Precise routing: prefer the endpoint whose engine has reported (through KV events) the longest
 * cached prefix of this prompt, hashing the prompt exactly as the engines do (same tokenizer,
 * block size and seed).
 *
 * - `preciseScorer`: a pipeline Scorer, matched blocks / prompt blocks in [0,1], for composing with
 *   load scorers the GIE way (llm-d's precise-prefix-cache scorer plays this role).
 * - `createPrecise`: the standalone `precise` strategy. Candidates within `tieBlocks` of the best
 *   hit are tied and the least loaded (in-flight + engine waiting + running) wins, so with no hit
 *   anywhere it degrades to least-load instead of piling onto the first replica.
 * LoRA adapters are not mixed into the hashes: engine-sim hashes without them; with vLLM they are
 * part of the block key (lora_name extra key) and would need to be added here.
 */
import { hashTokenBlocks } from "@strata/engine-sim";
import type { z } from "zod";
import type { Candidate } from "../scoring/candidate.js";
import type { Scorer } from "../scoring/pipeline.js";
import {
  type RoutingRequest,
  type Strategy,
  type StrategyDecision,
  type StrategyPlugin,
  strategyPlugin,
} from "../scoring/strategy.js";
import type { BlockIndex } from "./block-index.js";
import { preciseParamsSchema } from "./config.js";
import type { Tokenize } from "./sim-tokenizer.js";

export interface PreciseDeps {
  index: Pick<BlockIndex, "longestPrefixMatch">;
  tokenize: Tokenize;
}

type Params = z.output<typeof preciseParamsSchema>;

/** Per-candidate matched blocks for one request; shared by the scorer and the strategy. */
function matcher(params: Params, deps: PreciseDeps) {
  let matched = new Int32Array(64);
  let blocks = 0;
  return {
    get blocks() {
      return blocks;
    },
    matched: () => matched,
    match(request: RoutingRequest, candidates: readonly Candidate[]): void {
      const tokens = deps.tokenize(request.prompt);
      // The engine always recomputes the last prompt token, so a fully cached prompt hits one block less.
      const usable = Math.max(0, Math.floor((tokens.length - 1) / params.blockSize));
      const hashes = hashTokenBlocks(tokens.slice(0, usable * params.blockSize), {
        blockSize: params.blockSize,
        seed: params.hashSeed,
      });
      blocks = hashes.length;
      const matches = deps.index.longestPrefixMatch(hashes);
      if (matched.length < candidates.length) matched = new Int32Array(candidates.length * 2);
      candidates.forEach((candidate, index) => {
        matched[index] = matches.get(candidate.endpoint.id) ?? 0;
      });
    },
  };
}

export function preciseScorer(params: unknown, deps: PreciseDeps): Scorer {
  const parsed = preciseParamsSchema.parse(params ?? {});
  const state = matcher(parsed, deps);
  return {
    name: "precise-prefix-cache",
    score(request, candidates, out) {
      state.match(request, candidates);
      for (let index = 0; index < candidates.length; index++) {
        out[index] = state.blocks === 0 ? 0 : (state.matched()[index] as number) / state.blocks;
      }
    },
    describe: (index) => `${state.matched()[index]}/${state.blocks} blocks cached (KV events)`,
  };
}

export function createPrecise(params: unknown, deps: PreciseDeps): Strategy {
  const parsed = preciseParamsSchema.parse(params ?? {});
  const state = matcher(parsed, deps);
  let scores = new Float64Array(64);
  return {
    name: "precise",
    decide(request: RoutingRequest, candidates: readonly Candidate[]): StrategyDecision {
      state.match(request, candidates);
      const matched = state.matched();
      if (scores.length < candidates.length) scores = new Float64Array(candidates.length * 2);
      let best = -1;
      for (let index = 0; index < candidates.length; index++) {
        scores[index] = state.blocks === 0 ? 0 : (matched[index] as number) / state.blocks;
        if ((candidates[index] as Candidate).eligible) best = Math.max(best, matched[index] as number);
      }
      if (best < 0) throw new Error("precise called without eligible candidates");
      let chosenIndex = -1;
      for (let index = 0; index < candidates.length; index++) {
        const candidate = candidates[index] as Candidate;
        if (!candidate.eligible || (matched[index] as number) < best - parsed.tieBlocks) continue;
        if (chosenIndex < 0 || loadOf(candidate) < loadOf(candidates[chosenIndex] as Candidate))
          chosenIndex = index;
      }
      const chosen = candidates[chosenIndex] as Candidate;
      const blocks = state.blocks;
      const chosenBlocks = matched[chosenIndex] as number;
      return {
        chosen,
        chosenIndex,
        scores: scores.subarray(0, candidates.length),
        explain: () => ({
          reason:
            best === 0
              ? `no cached prefix reported by any eligible engine; least loaded (${loadOf(chosen)})`
              : `longest cached prefix: ${chosenBlocks}/${blocks} blocks (${chosenBlocks * parsed.blockSize} tokens)`,
          details: candidates.map(
            (candidate, index) => `${matched[index]}/${blocks} blocks cached, load ${loadOf(candidate)}`,
          ),
        }),
      };
    },
  };
}

/** The registry entry, once the router has an index and a tokenizer to give it. */
export function precisePlugin(deps: PreciseDeps): StrategyPlugin {
  return strategyPlugin(preciseParamsSchema, (params) => createPrecise(params, deps));
}

function loadOf(candidate: Candidate): number {
  return candidate.inFlight + (candidate.waiting ?? 0) + (candidate.running ?? 0);
}
