/**
 * Prefix-cache block hashing, shared by engine-sim and (later) the router's KV-cache-aware scorer.
 *
 * Like vLLM, a prompt is cut into full blocks of `blockSize` tokens (a trailing partial block has no
 * hash and is never cached), and each block's hash chains over its parent's hash, so equal hashes
 * mean equal whole prefixes. The chain starts from a root hash derived from a seed (vLLM's
 * NONE_HASH, seeded by PYTHONHASHSEED): replicas and routers must use the same seed and block size.
 *
 * hash(block) = first 8 bytes (big-endian) of
 *   SHA-256( parent hash as u64 BE || each token id as u32 BE || [0x00 || utf8(extraKey)] )
 */
import { createHash } from "node:crypto";

export type BlockHash = bigint;

export const DEFAULT_BLOCK_SIZE = 16;
export const DEFAULT_HASH_SEED = "0";

const rootCache = new Map<string, BlockHash>();

/** The parent hash of a sequence's first block (vLLM's NONE_HASH) for a given seed. */
export function rootBlockHash(seed: string = DEFAULT_HASH_SEED): BlockHash {
  let root = rootCache.get(seed);
  if (root === undefined) {
    root = createHash("sha256").update(`strata-kv-root:${seed}`).digest().readBigUInt64BE(0);
    rootCache.set(seed, root);
  }
  return root;
}

/** Hash of one full block of token ids chained onto its parent's hash. */
export function hashBlock(parent: BlockHash, tokenIds: ArrayLike<number>, extraKey?: string): BlockHash {
  const buffer = Buffer.allocUnsafe(8 + 4 * tokenIds.length);
  buffer.writeBigUInt64BE(parent, 0);
  for (let index = 0; index < tokenIds.length; index++) {
    buffer.writeUInt32BE((tokenIds[index] as number) >>> 0, 8 + 4 * index);
  }
  const hash = createHash("sha256").update(buffer);
  if (extraKey !== undefined) hash.update(Buffer.concat([Buffer.from([0]), Buffer.from(extraKey, "utf8")]));
  return hash.digest().readBigUInt64BE(0);
}

export interface BlockHashOptions {
  blockSize?: number;
  seed?: string;
  /** Mixed into every block (vLLM's extra keys: LoRA name, multimodal hashes, cache salt). */
  extraKey?: string;
}

/** Hashes of every full block of `tokenIds`, in order; the trailing partial block is skipped. */
export function hashTokenBlocks(tokenIds: readonly number[], options: BlockHashOptions = {}): BlockHash[] {
  return extendBlockHashes([], tokenIds, options);
}

/**
 * Extends `existing` (hashes of the first blocks of `tokenIds`) with the hashes of any further full
 * blocks, without rehashing the known ones. Returns the same array, mutated.
 */
export function extendBlockHashes(
  existing: BlockHash[],
  tokenIds: readonly number[],
  options: BlockHashOptions = {},
): BlockHash[] {
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize <= 0) throw new Error(`invalid blockSize ${blockSize}`);
  const fullBlocks = Math.floor(tokenIds.length / blockSize);
  let parent =
    existing.length > 0 ? (existing[existing.length - 1] as BlockHash) : rootBlockHash(options.seed);
  for (let block = existing.length; block < fullBlocks; block++) {
    parent = hashBlock(parent, tokenIds.slice(block * blockSize, (block + 1) * blockSize), options.extraKey);
    existing.push(parent);
  }
  return existing;
}

/** Fixed-width lowercase hex, for logs, JSON and KV events. */
export function formatBlockHash(hash: BlockHash): string {
  return hash.toString(16).padStart(16, "0");
}
