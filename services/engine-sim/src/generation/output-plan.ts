/**
 * Decides, before a sequence starts, exactly which tokens it will produce and why it stops.
 *
 * The reply is the first matching scripted rule's text, else seeded filler text (seeded by the
 * prompt token ids, the request `seed` and the choice index, so equal requests get equal answers)
 * of a seeded length in [randomMinTokens, randomMaxTokens]. Then, as vLLM's sampling params do:
 * `min_tokens` / `ignore_eos` extend it with filler, `stop` strings (checked once min_tokens are
 * out) truncate it (finish "stop", stop_reason = the string), and `max_tokens` caps it (finish
 * "length"; a reply exactly max_tokens long also ends "length": its EOS did not fit).
 */
import type { FinishReason } from "../model/sequence.js";
import { EOS_TOKEN_ID, type Tokenizer } from "../model/tokenizer.js";
import { createPrng, seedFrom } from "./prng.js";
import { randomWords } from "./random-text.js";
import { type CompiledRule, findScriptedReply, findScriptedRule } from "./script.js";

export interface OutputPlanRequest {
  /** Text scripted rules are matched against. */
  matchText: string;
  promptTokenIds: readonly number[];
  seed?: number | null | undefined;
  choiceIndex: number;
  /** Effective cap on output tokens, >= 1. */
  maxTokens: number;
  minTokens?: number | undefined;
  ignoreEos?: boolean | undefined;
  stop?: readonly string[] | undefined;
  /** The reply to produce, decided elsewhere (a tool call's arguments, a JSON-mode document). */
  reply?: string | undefined;
}

export interface OutputPlan {
  tokenIds: number[];
  /** Text of each output token; they concatenate to `text`. */
  deltas: string[];
  text: string;
  finishReason: FinishReason;
  stopReason: string | null;
  scripted: boolean;
}

export interface OutputPlannerOptions {
  rules?: readonly CompiledRule[];
  randomMinTokens?: number;
  randomMaxTokens?: number;
}

interface Piece {
  id: number;
  text: string;
}

export class OutputPlanner {
  private readonly rules: readonly CompiledRule[];
  private readonly randomMin: number;
  private readonly randomMax: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    options: OutputPlannerOptions = {},
  ) {
    this.rules = options.rules ?? [];
    this.randomMin = options.randomMinTokens ?? 16;
    this.randomMax = Math.max(this.randomMin, options.randomMaxTokens ?? 128);
  }

  plan(request: OutputPlanRequest): OutputPlan {
    const seed = request.seed ?? 0;
    const random = createPrng(
      seedFrom([...request.promptTokenIds, seed >>> 0, Math.floor(seed / 2 ** 32), request.choiceIndex]),
    );
    const scriptedReply = request.reply ?? findScriptedReply(this.rules, request.matchText);
    let pieces: Piece[];
    if (scriptedReply !== undefined) {
      pieces = this.tokenizer.pieces(scriptedReply);
    } else {
      const target = this.randomMin + Math.floor(random() * (this.randomMax - this.randomMin + 1));
      pieces = this.tokenizer.pieces(randomWords(random, target)).slice(0, target);
    }
    const naturalLength = pieces.length;
    const minTokens = Math.min(request.minTokens ?? 0, request.maxTokens);
    const wanted = request.ignoreEos ? request.maxTokens : minTokens;
    if (pieces.length < wanted) pieces = [...pieces, ...this.filler(random, wanted - pieces.length)];
    return this.finish(pieces, naturalLength, request, minTokens, scriptedReply !== undefined);
  }

  /** The first scripted rule matching the text (tool calls and JSON-mode answers start from it). */
  scriptedRule(text: string): ReturnType<typeof findScriptedRule> {
    return findScriptedRule(this.rules, text);
  }

  private filler(random: () => number, count: number): Piece[] {
    return this.tokenizer.pieces(` ${randomWords(random, count)}`).slice(0, count);
  }

  private finish(
    pieces: Piece[],
    naturalLength: number,
    request: OutputPlanRequest,
    minTokens: number,
    scripted: boolean,
  ): OutputPlan {
    const stops = (request.stop ?? []).filter((stop) => stop.length > 0);
    const taken: Piece[] = [];
    let text = "";
    let finishReason: FinishReason | undefined;
    let stopReason: string | null = null;
    for (const piece of pieces) {
      if (taken.length >= request.maxTokens) break;
      taken.push(piece);
      const previousLength = text.length;
      text += piece.text;
      if (stops.length > 0 && taken.length >= minTokens) {
        const hit = findStop(text, stops, previousLength);
        if (hit) {
          text = text.slice(0, hit.index);
          finishReason = "stop";
          stopReason = hit.stop;
          break;
        }
      }
    }
    if (finishReason === undefined) {
      const cut = request.ignoreEos || Math.max(naturalLength, pieces.length) >= request.maxTokens;
      finishReason = cut ? "length" : "stop";
    }
    if (taken.length === 0) taken.push({ id: EOS_TOKEN_ID, text: "" });
    const deltas: string[] = [];
    let offset = 0;
    for (const piece of taken) {
      const end = offset + piece.text.length;
      deltas.push(text.slice(Math.min(offset, text.length), Math.min(end, text.length)));
      offset = end;
    }
    return { tokenIds: taken.map((piece) => piece.id), deltas, text, finishReason, stopReason, scripted };
  }
}

function findStop(
  text: string,
  stops: readonly string[],
  newFrom: number,
): { index: number; stop: string } | undefined {
  let best: { index: number; stop: string } | undefined;
  for (const stop of stops) {
    const index = text.indexOf(stop, Math.max(0, newFrom - stop.length + 1));
    if (index >= 0 && (best === undefined || index < best.index)) best = { index, stop };
  }
  return best;
}
