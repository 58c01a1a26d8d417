/**
 * Precise routing: prefer the endpoint whose engine has reported (through KV events) the longest
 * cached prefix of this prompt, hashing the prompt exactly as the engines do (same tokenizer,
 * block size and seed).
 *
 * - `preciseScorer`: a pipeline Scorer, matched blocks / prompt blocks in [0,1], for composing with
 *   load scorers the GIE way (llm-d's precise-prefix-cache scorer plays this role).
 * - `createPrecise`: the standalone `precise` strategy. Candidates within `tieBlocks` of the best
 *   hit are tied and the least loaded (in-flight + engine waiting + running) wins, equal loads taking
 *   turns, so with no hit anywhere it degrades to least-load instead of piling onto one replica.
 *
 * The decision walks the prompt's block hashes only while some engine holds them: chained hashes make
 * a hit an unbroken run from the first block, so the first block nobody holds ends every run. The
 * prompt block hasher remembers tokenization by prefix, and `onRouted` completes it for the whole
 * prompt, so the next turn of the conversation walks remembered ground.
 *
 * LoRA adapters: engine-sim hashes without them; vLLM puts the adapter's name in every block's hash,
 * so a request naming an adapter walks that adapter's hasher (`hashers`). Prompts are first rebuilt
 * into the engine's own text (`renderPrompt`, the engine's chat template) when it differs.
 */
import { DEFAULT_BLOCK_SIZE, DEFAULT_HASH_SEED } from "@strata/engine-sim";
import type { z } from "zod";
import type { Candidate } from "../scoring/candidate.js";
import type { Scorer } from "../scoring/pipeline.js";
import {
  explanation,
  type RoutingRequest,
  type Strategy,
  type StrategyDecision,
} from "../scoring/strategy.js";
import { RotatingTieBreak } from "../scoring/tie-break.js";
import type { BlockIndex } from "./block-index.js";
import { preciseParamsSchema } from "./config.js";
import { PromptBlockHasher } from "./prompt-block-hasher.js";
import type { PromptHashers } from "./prompt-hashers.js";
import type { Tokenize } from "./tokenize.js";

export interface PreciseDeps {
  index: Pick<BlockIndex, "longestPrefixMatch" | "holds">;
  tokenize: Tokenize;
  /**
   * One hasher shared by every model's strategy; when absent, one over `tokenize` with engine-sim's
   * block size and seed (16 tokens, seed "0").
   */
  hasher?: PromptBlockHasher;
  /** Per-adapter hashers (vLLM keys an adapter's blocks apart); `hasher` serves every request when absent. */
  hashers?: Pick<PromptHashers, "for">;
  /** The engine's prompt text from the routed prompt (engine-prompt.ts); the prompt itself when absent. */
  renderPrompt?: (prompt: string) => string;
}

type Params = z.output<typeof preciseParamsSchema>;

const noMatches: ReadonlyMap<string, number> = new Map();

/** Per-candidate matched blocks for one request; shared by the scorer and the strategy. */
function matcher(deps: PreciseDeps) {
  const hasher =
    deps.hasher ??
    new PromptBlockHasher(deps.tokenize, { blockSize: DEFAULT_BLOCK_SIZE, hashSeed: DEFAULT_HASH_SEED });
  const { index } = deps;
  const render = deps.renderPrompt ?? ((prompt: string) => prompt);
  const hasherFor = (request: RoutingRequest) => deps.hashers?.for(request.adapter) ?? hasher;
  const held: bigint[] = [];
  const visit = (hash: bigint) => {
    if (!index.holds(hash)) return false;
    held.push(hash);
    return true;
  };
  const state = {
    hasher,
    matched: new Int32Array(64),
    /** Usable blocks of the prompt (an estimate when `exact` is false). */
    blocks: 0,
    exact: true,
    match(request: RoutingRequest, candidates: readonly Candidate[]): void {
      held.length = 0;
      const walked = hasherFor(request).walk(render(request.prompt), visit);
      state.blocks = Math.max(walked.blocks, held.length);
      state.exact = walked.exact;
      const matches = held.length === 0 ? noMatches : index.longestPrefixMatch(held);
      if (state.matched.length < candidates.length) state.matched = new Int32Array(candidates.length * 2);
      for (let position = 0; position < candidates.length; position++) {
        state.matched[position] = matches.get((candidates[position] as Candidate).endpoint.id) ?? 0;
      }
    },
    fraction(position: number): number {
      return state.blocks === 0 ? 0 : (state.matched[position] as number) / state.blocks;
    },
    describe(position: number): string {
      return `${state.matched[position]}/${state.exact ? "" : "≈"}${state.blocks} blocks cached (KV events)`;
    },
    /** Completes the prompt's walk so its next turn hashes only new text. */
    remember(request: RoutingRequest): void {
      hasherFor(request).remember(render(request.prompt));
    },
  };
  return state;
}

export function preciseScorer(params: unknown, deps: PreciseDeps): Scorer {
  preciseParamsSchema.parse(params ?? {});
  const state = matcher(deps);
  return {
    name: "precise-prefix-cache",
    score(request, candidates, out) {
      state.match(request, candidates);
      for (let position = 0; position < candidates.length; position++)
        out[position] = state.fraction(position);
    },
    describe: (position) => state.describe(position),
    onRouted: (request) => state.remember(request),
  };
}

export function createPrecise(params: unknown, deps: PreciseDeps): Strategy {
  const parsed: Params = preciseParamsSchema.parse(params ?? {});
  const state = matcher(deps);
  let scores = new Float64Array(64);
  let loads = new Float64Array(64);
  const tieBreak = new RotatingTieBreak();
  // Set per decision and read by `within`, so the picker's predicate allocates nothing.
  let current: readonly Candidate[] = [];
  let floor = 0;
  const within = (position: number) =>
    (current[position] as Candidate).eligible && (state.matched[position] as number) >= floor;
  return {
    name: "precise",
    decide(request: RoutingRequest, candidates: readonly Candidate[]): StrategyDecision {
      state.match(request, candidates);
      const matched = state.matched;
      if (scores.length < candidates.length) {
        scores = new Float64Array(candidates.length * 2);
        loads = new Float64Array(candidates.length * 2);
      }
      let best = -1;
      for (let position = 0; position < candidates.length; position++) {
        const candidate = candidates[position] as Candidate;
        scores[position] = state.fraction(position);
        loads[position] = loadOf(candidate);
        if (candidate.eligible) best = Math.max(best, matched[position] as number);
      }
      if (best < 0) throw new Error("precise called without eligible candidates");
      current = candidates;
      floor = best - parsed.tieBlocks;
      const chosenIndex = tieBreak.pick(loads.subarray(0, candidates.length), within, "min");
      current = [];
      const chosen = candidates[chosenIndex] as Candidate;
      const chosenBlocks = matched[chosenIndex] as number;
      const blocks = `${state.exact ? "" : "≈"}${state.blocks}`;
      return {
        chosen,
        chosenIndex,
        scores: scores.subarray(0, candidates.length),
        explain: () =>
          explanation(
            best === 0
              ? `no cached prefix reported by any eligible engine; least loaded (${loadOf(chosen)})`
              : `longest cached prefix: ${chosenBlocks}/${blocks} blocks (${chosenBlocks * state.hasher.blockSize} tokens)`,
            () =>
              candidates.map(
                (candidate, position) => `${state.describe(position)}, load ${loadOf(candidate)}`,
              ),
          ),
      };
    },
    onRouted(request) {
      state.remember(request);
    },
  };
}

function loadOf(candidate: Candidate): number {
  return candidate.inFlight + (candidate.waiting ?? 0) + (candidate.running ?? 0);
}
