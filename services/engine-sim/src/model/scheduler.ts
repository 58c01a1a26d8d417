/**
 * EngineModel: the pure core of the simulator — a vLLM-like continuous-batching scheduler over a
 * paged KV cache with prefix caching. It never reads a clock: every method takes `now` (model
 * milliseconds), so it runs equally in real time (engine/driver.ts) or in virtual time inside a
 * discrete-event simulation (call `advanceTo(nextEventTime())` in a loop).
 *
 * Timing model (documented in the README):
 * - FIFO waiting queue; a request is admitted when fewer than maxNumSeqs run and enough KV blocks
 *   are free for its uncached tokens (head-of-line blocking, as vLLM v1).
 * - Prefill runs on one shared lane (prefills of concurrent requests queue behind each other) and
 *   costs prefillOverheadMs + uncachedTokens * prefillMsPerToken; a hit on a block that another
 *   sequence is still prefilling waits until that block is ready. The first output token comes at
 *   the end of prefill.
 * - Each further token takes decodeMsPerToken * (1 + decodeBatchPenalty * (running - 1)).
 * - Decode grows the sequence; when a new block is needed and none is free, the most recently
 *   admitted running sequence is preempted (recompute: its blocks are freed, it goes back to the
 *   head of the queue and later re-prefills prompt + tokens generated so far).
 */
import {
  type BlockHash,
  DEFAULT_HASH_SEED,
  hashBlock,
  hashTokenBlocks,
  rootBlockHash,
} from "./block-hash.js";
import { KvCache } from "./kv-cache.js";
import {
  createSequence,
  type EngineListener,
  type Sequence,
  type SequenceRequest,
  sequenceTokens,
} from "./sequence.js";

export interface EngineModelConfig {
  blockSize: number;
  kvCapacityBlocks: number;
  maxNumSeqs: number;
  prefillMsPerToken: number;
  prefillOverheadMs: number;
  decodeMsPerToken: number;
  decodeBatchPenalty: number;
  enablePrefixCaching: boolean;
  hashSeed: string;
}

export const DEFAULT_ENGINE_MODEL_CONFIG: EngineModelConfig = {
  blockSize: 16,
  kvCapacityBlocks: 2048,
  maxNumSeqs: 256,
  prefillMsPerToken: 0.1,
  prefillOverheadMs: 5,
  decodeMsPerToken: 20,
  decodeBatchPenalty: 0.02,
  enablePrefixCaching: true,
  hashSeed: DEFAULT_HASH_SEED,
};

export interface EngineSnapshot {
  running: number;
  waiting: number;
  kvUsage: number;
  freeBlocks: number;
  usedBlocks: number;
  cachedBlocks: number;
  capacityBlocks: number;
  evictedBlocks: number;
  /** Sum over running sequences of prompt + planned output tokens (TGI's batch max tokens). */
  reservedTokens: number;
  preemptions: number;
}

export class EngineModel {
  readonly config: EngineModelConfig;
  readonly cache: KvCache;
  private readonly listener: EngineListener;
  private readonly waiting: Sequence[] = [];
  private readonly running: Sequence[] = [];
  private readonly byId = new Map<string, Sequence>();
  private prefillLaneFreeAt = 0;
  private preemptionCount = 0;

  constructor(config: Partial<EngineModelConfig> = {}, listener: EngineListener = {}) {
    this.config = { ...DEFAULT_ENGINE_MODEL_CONFIG, ...config };
    this.cache = new KvCache({
      capacityBlocks: this.config.kvCapacityBlocks,
      enablePrefixCaching: this.config.enablePrefixCaching,
      onEvicted: (hashes) => this.listener.onBlocksRemoved?.(hashes),
    });
    this.listener = listener;
  }

  /** Queues a request (and admits it at once if it fits). */
  submit(request: SequenceRequest, now: number): Sequence {
    if (this.byId.has(request.id)) throw new Error(`duplicate sequence id ${request.id}`);
    const sequence = createSequence(request, now);
    this.byId.set(request.id, sequence);
    this.waiting.push(sequence);
    this.admitWaiting(now);
    return sequence;
  }

  /** Drops a waiting or running sequence and frees its blocks. Returns false if it was not live. */
  abort(id: string, now: number): boolean {
    const sequence = this.byId.get(id);
    if (!sequence) return false;
    if (sequence.status === "waiting") {
      this.waiting.splice(this.waiting.indexOf(sequence), 1);
    } else if (sequence.status === "running") {
      this.removeRunning(sequence);
    } else {
      return false;
    }
    this.end(sequence, now, "aborted");
    this.admitWaiting(now);
    return true;
  }

  /** Model time of the next token of any running sequence, or undefined when idle. */
  nextEventTime(): number | undefined {
    let next: number | undefined;
    for (const sequence of this.running) {
      const at = sequence.nextTokenAt as number;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /** Processes, in time order, every event due at or before `now`. Returns how many were processed. */
  advanceTo(now: number, maxEvents = Number.POSITIVE_INFINITY): number {
    let processed = 0;
    while (processed < maxEvents) {
      let due: Sequence | undefined;
      for (const sequence of this.running) {
        const at = sequence.nextTokenAt as number;
        if (at <= now && (due === undefined || at < (due.nextTokenAt as number))) due = sequence;
      }
      if (!due) break;
      this.emitToken(due, due.nextTokenAt as number);
      processed++;
    }
    return processed;
  }

  get(id: string): Sequence | undefined {
    return this.byId.get(id);
  }

  snapshot(): EngineSnapshot {
    let reservedTokens = 0;
    for (const sequence of this.running) {
      reservedTokens += sequence.request.promptTokenIds.length + sequence.request.outputTokenIds.length;
    }
    return {
      running: this.running.length,
      waiting: this.waiting.length,
      kvUsage: this.cache.usage(),
      freeBlocks: this.cache.freeBlocks,
      usedBlocks: this.cache.usedBlocks,
      cachedBlocks: this.cache.cachedBlocks,
      capacityBlocks: this.cache.capacity,
      evictedBlocks: this.cache.evictions,
      reservedTokens,
      preemptions: this.preemptionCount,
    };
  }

  /** Number of leading prompt tokens that would be served from the prefix cache right now. */
  cachedPrefixTokens(promptTokenIds: readonly number[]): number {
    const hashes = hashTokenBlocks(promptTokenIds, {
      blockSize: this.config.blockSize,
      seed: this.config.hashSeed,
    });
    const maxHits = Math.floor((promptTokenIds.length - 1) / this.config.blockSize);
    return this.cache.lookup(hashes, maxHits).length * this.config.blockSize;
  }

  /** Extends the sequence's block hashes to cover `tokenCount` tokens (prompt, then output). */
  private extendHashes(sequence: Sequence, tokenCount: number): void {
    const { blockSize, hashSeed } = this.config;
    const { promptTokenIds, outputTokenIds } = sequence.request;
    const hashes = sequence.blockHashes;
    const tokenAt = (index: number): number =>
      (index < promptTokenIds.length
        ? promptTokenIds[index]
        : outputTokenIds[index - promptTokenIds.length]) as number;
    while (hashes.length < Math.floor(tokenCount / blockSize)) {
      const start = hashes.length * blockSize;
      const block = Array.from({ length: blockSize }, (_, offset) => tokenAt(start + offset));
      const parent = hashes.length > 0 ? (hashes[hashes.length - 1] as BlockHash) : rootBlockHash(hashSeed);
      hashes.push(hashBlock(parent, block));
    }
  }

  private tokenCount(sequence: Sequence): number {
    return sequence.request.promptTokenIds.length + sequence.generated;
  }

  private decodeIntervalMs(): number {
    const { decodeMsPerToken, decodeBatchPenalty } = this.config;
    return decodeMsPerToken * (1 + decodeBatchPenalty * Math.max(0, this.running.length - 1));
  }

  private admitWaiting(now: number): void {
    const { blockSize } = this.config;
    while (this.waiting.length > 0 && this.running.length < this.config.maxNumSeqs) {
      const sequence = this.waiting[0] as Sequence;
      const tokenCount = this.tokenCount(sequence);
      this.extendHashes(sequence, tokenCount);
      // As in vLLM, at least the last token is always recomputed to produce logits.
      const hits = this.cache.lookup(sequence.blockHashes, Math.floor((tokenCount - 1) / blockSize));
      const needed = Math.ceil(tokenCount / blockSize) - hits.length;
      if (!this.cache.canAllocate(hits, needed)) break;
      this.waiting.shift();

      const hitTokens = hits.length * blockSize;
      let start = Math.max(now, this.prefillLaneFreeAt);
      for (const block of hits) start = Math.max(start, block.readyAt);
      const prefillEnd =
        start + this.config.prefillOverheadMs + (tokenCount - hitTokens) * this.config.prefillMsPerToken;
      this.prefillLaneFreeAt = prefillEnd;

      this.cache.acquire(hits);
      const fresh = this.cache.allocate(needed, prefillEnd);
      sequence.blocks = [...hits, ...fresh];
      this.registerFullBlocks(sequence, tokenCount);
      sequence.status = "running";
      sequence.nextTokenAt = prefillEnd;
      this.running.push(sequence);
      if (sequence.scheduledAt === null) {
        sequence.scheduledAt = now;
        sequence.cachedTokens = hitTokens;
        this.listener.onAdmitted?.(sequence, now, hitTokens, tokenCount);
      }
    }
  }

  /** Gives hashes to the sequence's blocks that are full of computed tokens. */
  private registerFullBlocks(sequence: Sequence, computedTokens: number): void {
    const full = Math.min(Math.floor(computedTokens / this.config.blockSize), sequence.blockHashes.length);
    let runStart = -1;
    for (let index = 0; index <= full; index++) {
      const block = index < full ? sequence.blocks[index] : undefined;
      const stored =
        block !== undefined &&
        block.hash === null &&
        this.cache.register(block, sequence.blockHashes[index] as BlockHash);
      if (stored && runStart < 0) runStart = index;
      if (!stored && runStart >= 0) {
        this.reportStored(sequence, runStart, index);
        runStart = -1;
      }
    }
  }

  /** One BlockStored-style report per run of consecutive newly cached blocks [from, to). */
  private reportStored(sequence: Sequence, from: number, to: number): void {
    if (!this.listener.onBlocksStored) return;
    const { blockSize } = this.config;
    const tokens = sequenceTokens(
      sequence,
      Math.max(0, to * blockSize - sequence.request.promptTokenIds.length),
    );
    this.listener.onBlocksStored(
      sequence.blockHashes.slice(from, to),
      from > 0 ? (sequence.blockHashes[from - 1] as BlockHash) : null,
      tokens.slice(from * blockSize, to * blockSize),
      blockSize,
    );
  }

  private emitToken(sequence: Sequence, now: number): void {
    const index = sequence.generated;
    sequence.generated++;
    const interTokenMs = sequence.lastTokenAt === null ? null : now - sequence.lastTokenAt;
    if (sequence.firstTokenAt === null) sequence.firstTokenAt = now;
    sequence.lastTokenAt = now;
    this.listener.onToken?.(sequence, index, now, interTokenMs);

    if (sequence.generated >= sequence.request.outputTokenIds.length) {
      this.removeRunning(sequence);
      this.end(sequence, now, "completed");
    } else {
      // The token just produced is fed back: its KV needs a slot, and filled blocks become cacheable.
      const tokenCount = this.tokenCount(sequence);
      this.extendHashes(sequence, tokenCount);
      if (this.growBlocks(sequence, tokenCount, now)) {
        this.registerFullBlocks(sequence, tokenCount - 1);
        sequence.nextTokenAt = now + this.decodeIntervalMs();
      }
    }
    this.admitWaiting(now);
  }

  /** Ensures room for `tokenCount` tokens, preempting others if needed; false if it preempted itself. */
  private growBlocks(sequence: Sequence, tokenCount: number, now: number): boolean {
    const { blockSize } = this.config;
    while (sequence.blocks.length * blockSize < tokenCount) {
      if (this.cache.freeBlocks > 0) {
        sequence.blocks.push(...this.cache.allocate(1, now));
        continue;
      }
      const victim = this.running[this.running.length - 1] as Sequence;
      this.preempt(victim, now);
      if (victim === sequence) return false;
    }
    return true;
  }

  private preempt(sequence: Sequence, now: number): void {
    this.removeRunning(sequence);
    this.cache.release(sequence.blocks);
    sequence.blocks = [];
    sequence.status = "waiting";
    sequence.nextTokenAt = null;
    sequence.preemptions++;
    this.preemptionCount++;
    this.waiting.unshift(sequence);
    this.listener.onPreempted?.(sequence, now);
  }

  private removeRunning(sequence: Sequence): void {
    const index = this.running.indexOf(sequence);
    if (index >= 0) this.running.splice(index, 1);
  }

  private end(sequence: Sequence, now: number, outcome: "completed" | "aborted"): void {
    if (sequence.blocks.length > 0) this.cache.release(sequence.blocks);
    sequence.blocks = [];
    sequence.status = outcome === "completed" ? "finished" : "aborted";
    sequence.nextTokenAt = null;
    sequence.finishedAt = now;
    this.byId.delete(sequence.request.id);
    this.listener.onFinished?.(sequence, now, outcome);
  }
}
