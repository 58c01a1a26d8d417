#!/usr/bin/env python3
"""A stand-in for a vLLM engine's prefix cache and KV-event publisher, for the router's tests.

Written from vLLM's documented behaviour, independently of the router's TypeScript: the chat is
rendered with a Jinja chat template (bos_token given), tokenized with Hugging Face `tokenizers`
(no special tokens added), every full block hashed as vllm/v1/core/kv_cache_utils.py describes —
  root = H(PYTHONHASHSEED string), block = H((parent, tuple(tokens), extra_keys)),
  H = sha256 over cbor2 canonical (sha256_cbor) or pickle protocol 5 (sha256),
  extra_keys = (lora_name,) for a LoRA request, else None —
and published as vLLM does (vllm/distributed/kv_events.py): ZMQ PUB frames (topic, 8-byte big-endian
sequence, msgspec msgpack of EventBatch{ts, events, data_parallel_rank}), events tagged structs
(BlockStored…, map-shaped, or array_like as older releases), hashes as the lower 64 bits of the
digest (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=1, the default) or the digest bytes (=0).

Usage: vllm-kv-publisher.py <tokenizer.json> <sha256_cbor|sha256> <seed> <block size> <map|array> <int|bytes>
Prints {"port": N} once bound on 127.0.0.1, then reads JSON lines on stdin:
  {"messages": [{"role", "content"}], "adapter": str|null}  -> publishes BlockStored for the chat prompt
  {"clear": true}                                         -> publishes AllBlocksCleared
and answers each with {"tokens": n, "blocks": k} (or {"cleared": true}) on stdout.
Needs pyzmq, tokenizers, cbor2, msgspec, jinja2.
"""
import hashlib
import json
import pickle
import sys
import time

import cbor2
import jinja2
import msgspec
import zmq
from tokenizers import Tokenizer

# Meta Llama 3 Instruct's chat template (tokenizer_config.json of the 8B/70B Instruct models).
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
BOS = "<|begin_of_text|>"


def event_classes(array_like):
    class EventBatch(msgspec.Struct, omit_defaults=True, array_like=array_like):
        ts: float
        events: list
        data_parallel_rank: int | None = None

    class KVCacheEvent(msgspec.Struct, omit_defaults=True, tag=True, array_like=array_like):
        pass

    class BlockStored(KVCacheEvent):
        block_hashes: list
        parent_block_hash: bytes | int | None
        token_ids: list[int]
        block_size: int
        lora_id: int | None
        medium: str | None
        lora_name: str | None
        extra_keys: list | None = None

    class AllBlocksCleared(KVCacheEvent):
        pass

    return EventBatch, BlockStored, AllBlocksCleared


def hash_function(algorithm):
    if algorithm == "sha256_cbor":
        return lambda value: hashlib.sha256(cbor2.dumps(value, canonical=True)).digest()
    if algorithm == "sha256":
        return lambda value: hashlib.sha256(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)).digest()
    raise ValueError(algorithm)


def main():
    tokenizer_path, algorithm, seed, block_size, shape, hash_form = sys.argv[1:7]
    block_size = int(block_size)
    tokenizer = Tokenizer.from_file(tokenizer_path)
    template = jinja2.Environment().from_string(LLAMA3_TEMPLATE)
    digest = hash_function(algorithm)
    root = digest(seed)
    EventBatch, BlockStored, AllBlocksCleared = event_classes(shape == "array")
    encoder = msgspec.msgpack.Encoder()
    external = (lambda h: int.from_bytes(h, "big") & ((1 << 64) - 1)) if hash_form == "int" else (lambda h: h)

    socket = zmq.Context.instance().socket(zmq.PUB)
    port = socket.bind_to_random_port("tcp://127.0.0.1")
    print(json.dumps({"port": port}), flush=True)
    sequence = 0

    def publish(events):
        nonlocal sequence
        payload = encoder.encode(EventBatch(ts=time.time(), events=events, data_parallel_rank=0))
        socket.send_multipart((b"", sequence.to_bytes(8, "big"), payload))
        sequence += 1

    for line in sys.stdin:
        command = json.loads(line)
        if command.get("clear"):
            publish([AllBlocksCleared()])
            print(json.dumps({"cleared": True}), flush=True)
            continue
        prompt = template.render(messages=command["messages"], bos_token=BOS, add_generation_prompt=True)
        tokens = tokenizer.encode(prompt, add_special_tokens=False).ids
        adapter = command.get("adapter")
        extra = (adapter,) if adapter else None
        parent, hashes = root, []
        for start in range(0, len(tokens) - block_size + 1, block_size):
            parent = digest((parent, tuple(tokens[start : start + block_size]), extra))
            hashes.append(external(parent))
        full = len(hashes) * block_size
        publish(
            [
                BlockStored(
                    block_hashes=hashes,
                    parent_block_hash=None,
                    token_ids=tokens[:full],
                    block_size=block_size,
                    lora_id=None,
                    medium="GPU",
                    lora_name=adapter,
                    extra_keys=[extra for _ in hashes] if extra else None,
                )
            ]
        )
        print(json.dumps({"tokens": len(tokens), "blocks": len(hashes)}), flush=True)


if __name__ == "__main__":
    main()
