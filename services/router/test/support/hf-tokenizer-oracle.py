#!/usr/bin/env python3
"""Trains small byte-level BPE tokenizers with Hugging Face `tokenizers` and encodes texts with them.

The router's TypeScript tokenizer is checked against this (test/vllm-hf-tokenizer.test.ts). Reads a
job from stdin, writes each tokenizer's tokenizer.json where the job says, prints the encodings:

  {"corpus": [str], "texts": [str], "tokenizers": [{"path", "style", "vocabSize", "ignoreMerges", "added"}]}
  -> {"version": str, "encodings": [[[int]]]}   (per tokenizer, per text: ids, no special tokens added)

style: gpt2 (ByteLevel with its regex), llama3 (Llama 3's Split regex + ByteLevel), qwen2 (NFC +
Qwen 2's Split regex + ByteLevel), digits (Digits + ByteLevel with add_prefix_space).
added: [{"content", "special", "lstrip", "rstrip", "single_word", "normalized"}]
Needs `pip install tokenizers`.
"""
import json
import sys

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

LLAMA3 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def pre_tokenizer(style):
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    if style == "gpt2":
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if style == "llama3":
        return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated"), byte_level])
    if style == "qwen2":
        return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2), behavior="isolated"), byte_level])
    if style == "digits":
        return pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=True)]
        )
    raise ValueError(style)


def build(spec, corpus):
    tokenizer = Tokenizer(models.BPE())
    if spec["style"] == "qwen2":
        tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizer(spec["style"])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec["vocabSize"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(corpus, trainer)
    for token in spec.get("added", []):
        added = AddedToken(
            token["content"],
            single_word=token.get("single_word", False),
            lstrip=token.get("lstrip", False),
            rstrip=token.get("rstrip", False),
            normalized=token.get("normalized", False),
            special=token.get("special", False),
        )
        if token.get("special", False):
            tokenizer.add_special_tokens([added])
        else:
            tokenizer.add_tokens([added])
    if spec.get("ignoreMerges"):
        data = json.loads(tokenizer.to_str())
        data["model"]["ignore_merges"] = True
        tokenizer = Tokenizer.from_str(json.dumps(data))
    tokenizer.save(spec["path"])
    return tokenizer


def main():
    job = json.load(sys.stdin)
    encodings = []
    for spec in job["tokenizers"]:
        tokenizer = build(spec, job["corpus"])
        encodings.append([tokenizer.encode(text, add_special_tokens=False).ids for text in job["texts"]])
    json.dump({"version": tokenizers.__version__, "encodings": encodings}, sys.stdout)


if __name__ == "__main__":
    main()
