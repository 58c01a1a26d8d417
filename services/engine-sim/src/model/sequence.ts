import type { BlockHash } from "./block-hash.js";
import type { KvBlock } from "./kv-cache.js";

export type FinishReason = "stop" | "length";
export type SequenceStatus = "waiting" | "running" | "finished" | "aborted";

/** What the API layer hands the engine: the tokens in, the tokens the sequence will produce. */
export interface SequenceRequest {
  id: string;
  promptTokenIds: readonly number[];
  /** The planned output, at least one token; its length is the number of decode steps. */
  outputTokenIds: readonly number[];
  /** Reported (e.g. in vllm:request_success_total) when the planned output completes. */
  finishReason: FinishReason;
}

/** Engine-side state of one sequence. Times are model milliseconds. */
export interface Sequence {
  readonly request: SequenceRequest;
  status: SequenceStatus;
  readonly arrivalAt: number;
  /** Output tokens emitted so far. */
  generated: number;
  blocks: KvBlock[];
  /** Hashes of the full blocks of prompt + generated tokens computed so far. */
  blockHashes: BlockHash[];
  /** Prompt tokens served from the prefix cache at first admission (usage.prompt_tokens_details). */
  cachedTokens: number | null;
  scheduledAt: number | null;
  firstTokenAt: number | null;
  lastTokenAt: number | null;
  finishedAt: number | null;
  /** Time of the next output token while running. */
  nextTokenAt: number | null;
  preemptions: number;
}

export function createSequence(request: SequenceRequest, arrivalAt: number): Sequence {
  if (request.outputTokenIds.length === 0) throw new Error(`sequence ${request.id} plans no output tokens`);
  return {
    request,
    status: "waiting",
    arrivalAt,
    generated: 0,
    blocks: [],
    blockHashes: [],
    cachedTokens: null,
    scheduledAt: null,
    firstTokenAt: null,
    lastTokenAt: null,
    finishedAt: null,
    nextTokenAt: null,
    preemptions: 0,
  };
}

/** Prompt tokens followed by the first `generated` output tokens. */
export function sequenceTokens(sequence: Sequence, generated = sequence.generated): number[] {
  const { promptTokenIds, outputTokenIds } = sequence.request;
  return [...promptTokenIds, ...outputTokenIds.slice(0, generated)];
}

/** Engine callbacks; every time is model milliseconds. Listeners must not throw. */
export interface EngineListener {
  /** First admission: `cachedTokens` of `queriedTokens` prompt tokens came from the prefix cache. */
  onAdmitted?(sequence: Sequence, now: number, cachedTokens: number, queriedTokens: number): void;
  /** Output token `index` was produced; `interTokenMs` is null for the first one. */
  onToken?(sequence: Sequence, index: number, now: number, interTokenMs: number | null): void;
  onPreempted?(sequence: Sequence, now: number): void;
  onFinished?(sequence: Sequence, now: number, outcome: "completed" | "aborted"): void;
  /**
   * Full blocks became addressable by hash (vLLM's BlockStored): consecutive blocks of one
   * sequence; `parentHash` is the hash before the first of them, null at the sequence start.
   */
  onBlocksStored?(
    hashes: BlockHash[],
    parentHash: BlockHash | null,
    tokenIds: number[],
    blockSize: number,
  ): void;
  /** Cached blocks were evicted and their hashes forgotten (vLLM's BlockRemoved). */
  onBlocksRemoved?(hashes: BlockHash[]): void;
}

/** One listener that forwards every event to each of `listeners`, in order. */
export function combineListeners(...listeners: EngineListener[]): EngineListener {
  return {
    onAdmitted: (sequence, now, cached, queried) => {
      for (const listener of listeners) listener.onAdmitted?.(sequence, now, cached, queried);
    },
    onToken: (sequence, index, now, interTokenMs) => {
      for (const listener of listeners) listener.onToken?.(sequence, index, now, interTokenMs);
    },
    onPreempted: (sequence, now) => {
      for (const listener of listeners) listener.onPreempted?.(sequence, now);
    },
    onFinished: (sequence, now, outcome) => {
      for (const listener of listeners) listener.onFinished?.(sequence, now, outcome);
    },
    onBlocksStored: (hashes, parentHash, tokenIds, blockSize) => {
      for (const listener of listeners) listener.onBlocksStored?.(hashes, parentHash, tokenIds, blockSize);
    },
    onBlocksRemoved: (hashes) => {
      for (const listener of listeners) listener.onBlocksRemoved?.(hashes);
    },
  };
}
