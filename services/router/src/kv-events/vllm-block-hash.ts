/**
 * vLLM's prefix-cache block hashes (`--prefix-caching-hash-algo`), reproduced byte for byte:
 *
 *   block  = H((parent, tuple(token_ids), extra_keys))      # vllm/v1/core/kv_cache_utils.py hash_block_tokens
 *   root   = H(PYTHONHASHSEED)                              # init_none_hash: the seed *string*
 *   key    = int.from_bytes(block, "big") & (2**64 - 1)     # what KV events carry (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES)
 *
 * - `sha256_cbor`: H = SHA-256 of canonical CBOR (cbor2 `canonical=True`); parent = the 32-byte digest.
 * - `sha256` (vLLM's default): H = SHA-256 of `pickle.dumps(…, protocol=5)`; same chaining.
 * - `sha256_cbor_64bit` (vLLM 0.10): H = lower 64 bits of SHA-256 of canonical CBOR, an int; the parent
 *   is that int, so the chain runs on 64-bit values.
 * `extra_keys` is None, or `(lora_name,)` on every block of a LoRA request. An engine without
 * PYTHONHASHSEED roots its chain in 32 random bytes, which nobody can reproduce.
 * The xxhash variants (XXH3-128) are not implemented: see config.ts.
 */
import { createHash } from "node:crypto";
import type { BlockHashScheme, ChainHash } from "./block-hash-scheme.js";
import { CborWriter } from "./canonical-cbor.js";
import { PickleWriter } from "./python-pickle.js";

export const vllmHashAlgorithms = ["sha256_cbor", "sha256", "sha256_cbor_64bit"] as const;
export type VllmHashAlgorithm = (typeof vllmHashAlgorithms)[number];

const lower64 = (digest: Uint8Array): bigint =>
  Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).readBigUInt64BE(digest.byteLength - 8);

const sha256 = (bytes: Uint8Array): Buffer => createHash("sha256").update(bytes).digest();

/**
 * The scheme for one algorithm and seed. `extraKeys` (the adapter's name, for LoRA requests) is what
 * vLLM puts in every block's extra keys; null for plain requests.
 */
export function vllmBlockHashScheme(
  algorithm: VllmHashAlgorithm,
  seed: string,
  extraKeys: readonly string[] | null = null,
): BlockHashScheme {
  const scheme = schemeFor(algorithm, seed, extraKeys);
  return {
    ...scheme,
    name: algorithm,
    forAdapter: (adapter) => vllmBlockHashScheme(algorithm, seed, [adapter]),
  };
}

function schemeFor(
  algorithm: VllmHashAlgorithm,
  seed: string,
  extraKeys: readonly string[] | null,
): Omit<BlockHashScheme, "name"> {
  switch (algorithm) {
    case "sha256_cbor":
      return cborScheme(seed, extraKeys);
    case "sha256":
      return pickleScheme(seed, extraKeys);
    case "sha256_cbor_64bit":
      return cbor64Scheme(seed, extraKeys);
  }
}

/** (parent, tokens, extra) as a canonical CBOR array, parent written by `parentOut`. */
function writeCborBlock(
  writer: CborWriter,
  writeParent: () => void,
  tokens: readonly number[],
  extraKeys: readonly string[] | null,
): Buffer {
  writer.reset().arrayHeader(3);
  writeParent();
  writer.arrayHeader(tokens.length);
  for (const token of tokens) writer.unsigned(token);
  if (extraKeys === null) writer.value(null);
  else writer.value(extraKeys);
  return writer.bytes;
}

function cborScheme(seed: string, extraKeys: readonly string[] | null): Omit<BlockHashScheme, "name"> {
  const writer = new CborWriter();
  return {
    root: sha256(writer.reset().text(seed).bytes),
    next: (parent, tokens) =>
      sha256(writeCborBlock(writer, () => writer.byteString(parent as Uint8Array), tokens, extraKeys)),
    key: (hash) => lower64(hash as Uint8Array),
  };
}

function pickleScheme(seed: string, extraKeys: readonly string[] | null): Omit<BlockHashScheme, "name"> {
  const writer = new PickleWriter();
  return {
    root: sha256(writer.dumps(seed)),
    next: (parent, tokens) => sha256(writer.dumps([parent as Uint8Array, tokens, extraKeys])),
    key: (hash) => lower64(hash as Uint8Array),
  };
}

function cbor64Scheme(seed: string, extraKeys: readonly string[] | null): Omit<BlockHashScheme, "name"> {
  const writer = new CborWriter();
  const root = lower64(sha256(writer.reset().text(seed).bytes));
  return {
    root,
    next: (parent: ChainHash, tokens) => {
      // vLLM 0.10: `if not parent_block_hash: parent_block_hash = NONE_HASH` (a 0 hash restarts the chain).
      const value = (parent as bigint) === 0n ? root : (parent as bigint);
      return lower64(sha256(writeCborBlock(writer, () => writer.integer(value), tokens, extraKeys)));
    },
    key: (hash) => hash as bigint,
  };
}
