import { z } from "zod";
import { RecentMap } from "../recent-map.js";
import type { Candidate } from "../scoring/candidate.js";
import type { RoutingReport, RoutingRequest } from "../scoring/strategy.js";
import { blockHashes, hashString } from "./block-hash.js";
import { PrefixIndex } from "./prefix-index.js";

export const prefixParamsSchema = z
  .object({
    /** 64 characters ≈ 16 tokens at ~4 characters per token: GIE's `hashBlockSize` and vLLM's block size. */
    blockChars: z.number().int().min(1).default(64),
    /** Longest prefix considered, in blocks (64 Ki characters ≈ 16k tokens); bounds hashing cost per request. */
    maxBlocks: z.number().int().min(1).default(1024),
    /** Per-endpoint LRU size when the endpoint's KV capacity is not configured: GIE's `lruCapacityPerServer`. */
    blocksPerEndpoint: z.number().int().min(1).default(31_250),
    /** Converts configured KV capacity (tokens) to characters when the request gives no better ratio. */
    charsPerToken: z.number().positive().default(4),
    /**
     * Reported cached tokens may fall short of the prediction by this many blocks before the index is
     * corrected: engines count whole token blocks and our characters-to-tokens ratio is approximate.
     */
    correctionSlackBlocks: z.number().int().min(0).default(1),
    /** Routed requests remembered for correction by their Report; oldest forgotten first. */
    maxPendingReports: z.number().int().min(1).default(65_536),
  })
  .strict();

export type PrefixParams = z.output<typeof prefixParamsSchema>;

interface Pending {
  endpointId: string;
  hashes: number[];
  /** Blocks the index said the endpoint held when the request was routed there. */
  predictedBlocks: number;
  promptChars: number;
}

/**
 * The approximate prefix index with its feedback loop: decide() reads it, onRouted() records that the
 * request's blocks now live on the chosen endpoint, onReport() corrects it with the engine's
 * `cached_tokens`. Shared by the kv-aware strategy and the prefix-cache scorer.
 */
export class PrefixTracker {
  readonly index: PrefixIndex;
  /** Per-candidate matched blocks of the last match() call; valid until the next call. */
  private matchedBySlot = new Int32Array(64);
  private lastRequest: RoutingRequest | undefined;
  private lastHashes: number[] = [];
  private readonly pending: RecentMap<string, Pending>;

  constructor(readonly params: PrefixParams) {
    this.index = new PrefixIndex(params.blocksPerEndpoint);
    this.pending = new RecentMap(params.maxPendingReports);
  }

  /** The request's chained block hashes, computed once per request (decide and onRouted share them). */
  hashesOf(request: RoutingRequest): number[] {
    if (request !== this.lastRequest) {
      const seed = request.adapter ? hashString(request.adapter) : 0;
      this.lastHashes = blockHashes(request.prompt, this.params.blockChars, this.params.maxBlocks, seed);
      this.lastRequest = request;
    }
    return this.lastHashes;
  }

  /**
   * Writes each candidate's cached-prefix length in blocks into `out` (parallel to candidates) and
   * returns the request's block count. Also keeps each endpoint's LRU sized to its configured capacity.
   */
  match(request: RoutingRequest, candidates: readonly Candidate[], out: Int32Array): number {
    const hashes = this.hashesOf(request);
    const index = this.index;
    for (const candidate of candidates) {
      const slot = index.slotOf(candidate.endpoint.id);
      if (candidate.kvCapacityTokens !== undefined) {
        const blocks = (candidate.kvCapacityTokens * this.params.charsPerToken) / this.params.blockChars;
        index.setCapacity(candidate.endpoint.id, blocks);
      }
      if (slot >= this.matchedBySlot.length) this.matchedBySlot = new Int32Array(slot * 2 + 1);
    }
    index.match(hashes, this.matchedBySlot);
    for (let position = 0; position < candidates.length; position++) {
      out[position] = this.matchedBySlot[index.slotOf(candidates[position]!.endpoint.id)]!;
    }
    return hashes.length;
  }

  /** Tokens a cached prefix of `blocks` blocks covers for this request. */
  cachedTokens(request: RoutingRequest, blocks: number): number {
    const chars = Math.min(blocks * this.params.blockChars, request.prompt.length);
    const tokens = this.promptTokens(request);
    return request.prompt.length === 0 ? 0 : Math.round((chars / request.prompt.length) * tokens);
  }

  /** The caller's token estimate, or characters / charsPerToken when it gave none. */
  promptTokens(request: RoutingRequest): number {
    return request.promptTokens > 0
      ? request.promptTokens
      : Math.ceil(request.prompt.length / this.params.charsPerToken);
  }

  onRouted(request: RoutingRequest, endpointId: string): void {
    const hashes = this.hashesOf(request);
    if (hashes.length === 0) return;
    const predictedBlocks = this.index.matchOn(endpointId, hashes);
    this.index.insert(endpointId, hashes);
    this.pending.set(request.requestId, {
      endpointId,
      hashes,
      predictedBlocks,
      promptChars: request.prompt.length,
    });
  }

  onReport(report: RoutingReport): void {
    const pending = this.pending.take(report.requestId);
    if (pending === undefined) return;
    if (report.outcome === "connect-error") {
      // The request never reached the engine: only blocks it already held are there.
      this.index.truncate(pending.endpointId, pending.hashes, pending.predictedBlocks);
      return;
    }
    // Without usage (promptTokens 0) or a finished request the engine told us nothing about its cache.
    if (report.outcome !== "success" || report.promptTokens <= 0) return;
    const charsPerToken = pending.promptChars / report.promptTokens;
    const cachedBlocks = Math.floor((report.cachedTokens * charsPerToken) / this.params.blockChars);
    if (cachedBlocks + this.params.correctionSlackBlocks < pending.predictedBlocks) {
      // The engine had evicted what we thought it held: our LRU is more generous than its cache.
      // Forget the blocks beyond what it had; the next request with this prefix re-teaches them.
      this.index.truncate(pending.endpointId, pending.hashes, cachedBlocks);
    }
  }

  onEndpointsChanged(endpointIds: readonly string[]): void {
    this.index.retainOnly(endpointIds);
  }
}
