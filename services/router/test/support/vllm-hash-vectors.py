#!/usr/bin/env python3
"""Writes vllm-hash-vectors.json: vLLM prefix-cache block hashes for the router's tests.

Reproduces the algorithm as vLLM documents it (vllm/v1/core/kv_cache_utils.py hash_block_tokens,
init_none_hash; vllm/utils/hashing.py), written here from that description:

  root  = H(seed)                                   seed = the PYTHONHASHSEED string
  block = H((parent, tuple(block_token_ids), extra_keys))
  key   = int.from_bytes(block, "big") & (2**64 - 1)  (what KV events report)

  sha256            H(x) = sha256(pickle.dumps(x, protocol=pickle.HIGHEST_PROTOCOL)).digest()
  sha256_cbor       H(x) = sha256(cbor2.dumps(x, canonical=True)).digest()
  sha256_cbor_64bit H(x) = int(sha256(cbor2.dumps(x, canonical=True))) & (2**64 - 1)  (vLLM 0.10; chains on ints)

extra_keys is None, or (lora_name,) on every block of a LoRA request.
Needs `pip install cbor2`. Run from anywhere: python3 vllm-hash-vectors.py
"""
import hashlib
import json
import os
import pickle
import random

import cbor2

MASK64 = (1 << 64) - 1


def sha256_pickle(value):
    return hashlib.sha256(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)).digest()


def sha256_cbor(value):
    return hashlib.sha256(cbor2.dumps(value, canonical=True)).digest()


def sha256_cbor_64bit(value):
    return int.from_bytes(sha256_cbor(value), "big") & MASK64


FUNCTIONS = {"sha256": sha256_pickle, "sha256_cbor": sha256_cbor, "sha256_cbor_64bit": sha256_cbor_64bit}


def as_key(value):
    return value if isinstance(value, int) else int.from_bytes(value, "big") & MASK64


def as_text(value):
    return str(value) if isinstance(value, int) else value.hex()


def block_hashes(algorithm, seed, tokens, block_size, extra_keys):
    function = FUNCTIONS[algorithm]
    root = function(seed)
    parent = root
    hashes = []
    for start in range(0, len(tokens) - block_size + 1, block_size):
        if not parent:
            parent = root
        parent = function((parent, tuple(tokens[start : start + block_size]), extra_keys))
        hashes.append(parent)
    return root, hashes


def token_ids(rng, count):
    # Every integer width pickle and CBOR distinguish: < 24, < 256, < 65536, < 2**31.
    ranges = [(0, 23), (24, 255), (256, 65535), (65536, 262143), (1 << 30, (1 << 31) - 1)]
    return [rng.randint(*ranges[rng.randrange(len(ranges))]) for _ in range(count)]


def cases():
    rng = random.Random(20260612)
    for algorithm in ("sha256_cbor", "sha256", "sha256_cbor_64bit"):
        for seed in ("0", "42", "random"):
            for block_size in (1, 3, 16):
                for extra in (None, ("sql-adapter",), ("a" * 300,)):
                    tokens = token_ids(rng, block_size * 3 + rng.randrange(block_size))
                    root, hashes = block_hashes(algorithm, seed, tokens, block_size, extra)
                    yield {
                        "algorithm": algorithm,
                        "seed": seed,
                        "blockSize": block_size,
                        "extraKeys": list(extra) if extra else None,
                        "tokens": tokens,
                        "root": as_text(root),
                        "hashes": [as_text(value) for value in hashes],
                        "keys": [str(as_key(value)) for value in hashes],
                    }


def main():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vllm-hash-vectors.json")
    lines = [json.dumps(case, separators=(",", ":")) for case in cases()]
    with open(path, "w") as out:
        out.write('{"generator":"%s","cases":[\n' % os.path.basename(__file__))
        out.write(",\n".join(lines))
        out.write("\n]}\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
