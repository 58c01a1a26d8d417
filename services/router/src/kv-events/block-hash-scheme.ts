/**
 * How an engine chains its KV block hashes, as the router needs it: the chain's root (vLLM's
 * NONE_HASH), one step per full block, and the 64-bit key the engine's KV events carry for a hash.
 *
 * The chained value and the reported key differ for vLLM: blocks chain over the full 32-byte digest,
 * while events carry its lower 64 bits (or the digest, which decode.ts reduces to the same 64 bits).
 * engine-sim chains and reports the same 64-bit value.
 */
import { hashBlock, rootBlockHash } from "@strata/engine-sim";

/** A chained block hash: a digest (vLLM sha256*) or a 64-bit integer (engine-sim, sha256_cbor_64bit). */
export type ChainHash = bigint | Uint8Array;

export interface BlockHashScheme {
  /** The configuration name (`kvEvents.hashAlgorithm`). */
  readonly name: string;
  /** The parent of every sequence's first block. */
  readonly root: ChainHash;
  /** The hash of one full block of token ids chained onto its parent. */
  next(parent: ChainHash, tokens: readonly number[]): ChainHash;
  /** The block's key in the index: what the engine's KV events report for it, normalised by decode.ts. */
  key(hash: ChainHash): bigint;
  /**
   * The scheme for requests served by a LoRA adapter, whose blocks the engine keys apart (vLLM puts
   * the adapter's name in every block's extra keys); absent when the engine ignores adapters.
   */
  forAdapter?(adapter: string): BlockHashScheme;
}

/** engine-sim's `hashBlock` chain (first 8 bytes of SHA-256), rooted in its `--hash-seed`. */
export function engineSimBlockHashScheme(seed: string): BlockHashScheme {
  return {
    name: "engine-sim",
    root: rootBlockHash(seed),
    next: (parent, tokens) => hashBlock(parent as bigint, tokens),
    key: (hash) => hash as bigint,
  };
}

/** The index key of every full block of `tokens` (tests, and callers that hash token ids directly). */
export function blockKeys(scheme: BlockHashScheme, tokens: readonly number[], blockSize: number): bigint[] {
  const keys: bigint[] = [];
  let parent = scheme.root;
  for (let start = 0; start + blockSize <= tokens.length; start += blockSize) {
    parent = scheme.next(parent, tokens.slice(start, start + blockSize));
    keys.push(scheme.key(parent));
  }
  return keys;
}
