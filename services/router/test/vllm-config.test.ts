/**
 * Configuring precise routing for vLLM engines: what must match them is validated at start, and
 * every mismatch the router can detect stops it with the setting named.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { loadRouterConfig } from "../src/config-source.js";
import { kvEventsRouterSchema } from "../src/kv-events/config.js";
import { createKvEventsRuntime } from "../src/kv-events/kv-events-runtime.js";
import { byteLevelTokenizerJson } from "./support/byte-level-tokenizer-json.js";
import { configProblems as problems } from "./support/config-problems.js";

const fromFile = (config: unknown, env: Record<string, string> = {}) =>
  loadRouterConfig({ ROUTER_CONFIG_FILE: "/r.json", ...env }, () => JSON.stringify(config));

const vllm = {
  hashAlgorithm: "sha256_cbor",
  tokenizer: { type: "hf", path: "/models/llama/tokenizer.json" },
};

describe("kvEvents for vLLM engines", () => {
  it("takes vLLM's hash algorithm, PYTHONHASHSEED, the model's tokenizer and chat template", () => {
    const config = fromFile({
      kvEvents: { ...vllm, hashSeed: "1234", blockSize: 32, chatTemplate: "llama3" },
    });
    expect(config.kvEvents).toMatchObject({
      hashAlgorithm: "sha256_cbor",
      hashSeed: "1234",
      blockSize: 32,
      tokenizer: { type: "hf", path: "/models/llama/tokenizer.json" },
      chatTemplate: "llama3",
    });
    const fromEnv = fromFile(
      { kvEvents: { tokenizer: vllm.tokenizer } },
      { ROUTER_KV_HASH_ALGORITHM: "sha256" },
    );
    expect(fromEnv.kvEvents.hashAlgorithm).toBe("sha256");
    const custom = {
      bos: "<s>",
      message: "[{role}] {content}\n",
      generationPrompt: "[assistant] ",
      defaultSystem: "Be kind.",
    };
    expect(
      fromFile({ kvEvents: { ...vllm, hashSeed: "random", chatTemplate: custom } }).kvEvents.chatTemplate,
    ).toEqual({ ...custom, trimContent: false });
  });

  it("refuses algorithms it cannot reproduce, saying why", () => {
    const algorithm = (name: string) =>
      problems(() => fromFile({ kvEvents: { ...vllm, hashAlgorithm: name } }))[0];
    expect(algorithm("xxhash")).toMatch(
      /\(kvEvents\.hashAlgorithm\): vLLM's xxhash .*XXH3-128.*not implemented/,
    );
    expect(algorithm("builtin")).toMatch(/Python's hash\(\)/);
    expect(algorithm("md5")).toBe(
      'ROUTER_CONFIG_FILE (kvEvents.hashAlgorithm): must be one of "engine-sim", "sha256_cbor", "sha256", "sha256_cbor_64bit"',
    );
  });

  it("refuses a seed no Python engine can have, and tokenizers or templates that cannot match", () => {
    expect(problems(() => fromFile({ kvEvents: { ...vllm, hashSeed: "abc" } }))).toEqual([
      `ROUTER_CONFIG_FILE (kvEvents.hashSeed): must be the engines' PYTHONHASHSEED: "random" or an integer from 0 to 4294967295`,
    ]);
    expect(problems(() => fromFile({ kvEvents: { ...vllm, hashSeed: "4294967296" } }))[0]).toMatch(
      /hashSeed/,
    );
    expect(problems(() => fromFile({ kvEvents: { hashAlgorithm: "sha256" } }))[0]).toMatch(
      /^kvEvents\.tokenizer\.type: vLLM \(sha256\) hashes the model's own tokens/,
    );
    expect(problems(() => fromFile({ kvEvents: { tokenizer: vllm.tokenizer } }))[0]).toMatch(
      /^kvEvents\.tokenizer\.type: engine-sim hashes its own tokens/,
    );
    expect(problems(() => fromFile({ kvEvents: { chatTemplate: "llama3" } }))[0]).toMatch(
      /^kvEvents\.chatTemplate: engine-sim prefills the prompt as the gateway renders it/,
    );
    expect(problems(() => fromFile({ kvEvents: { ...vllm, chatTemplate: "mistral" } }))[0]).toMatch(
      /^kvEvents\.chatTemplate: must be "as-sent", "llama3", "chatml" or/,
    );
    expect(
      problems(() =>
        fromFile({
          kvEvents: { ...vllm, chatTemplate: { bos: "", message: "{role}", generationPrompt: "" } },
        }),
      )[0],
    ).toBe("kvEvents.chatTemplate.message: must contain {content}");
    expect(problems(() => fromFile({ kvEvents: { tokenizer: { type: "hf" } } }))[0]).toMatch(
      /^kvEvents\.tokenizer\.path/,
    );
  });

  it("loads the tokenizer at start, and stops naming the setting when the file is unusable", () => {
    const dir = mkdtempSync(join(tmpdir(), "vllm-config-"));
    try {
      const good = join(dir, "tokenizer.json");
      writeFileSync(
        good,
        JSON.stringify(byteLevelTokenizerJson(["hello world"], { style: "llama3", mergeCount: 5 })),
      );
      const parse = (path: string) =>
        kvEventsRouterSchema.parse({ ...vllm, tokenizer: { type: "hf", path } });
      const runtime = createKvEventsRuntime(parse(good), silentLogger());
      expect(runtime.hasher.scheme.name).toBe("sha256_cbor");
      expect(runtime.precise.tokenize("hello world").length).toBeGreaterThan(0);
      runtime.pool.close();

      expect(
        problems(() => createKvEventsRuntime(parse(join(dir, "missing.json")), silentLogger()))[0],
      ).toMatch(/^kvEvents\.tokenizer\.path: cannot use .*missing\.json: ENOENT/);
      const wordPiece = join(dir, "wordpiece.json");
      writeFileSync(wordPiece, JSON.stringify({ model: { type: "WordPiece", vocab: {}, merges: [] } }));
      expect(problems(() => createKvEventsRuntime(parse(wordPiece), silentLogger()))[0]).toMatch(
        /cannot use .*wordpiece\.json: tokenizer\.json model\.type: "WordPiece" is not supported/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
