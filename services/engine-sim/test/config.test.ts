import { describe, expect, it } from "vitest";
import { ConfigError, loadEngineSimOptions, parseEngineSimOptions } from "../src/config.js";

describe("engine-sim configuration", () => {
  it("has vLLM-like defaults", () => {
    expect(parseEngineSimOptions({})).toMatchObject({
      port: 8000,
      api: "vllm",
      blockSize: 16,
      kvCapacityBlocks: 2048,
      maxModelLen: 4096,
      timeScale: 1,
      enablePrefixCaching: true,
    });
  });

  it("reads flags (both forms) over environment variables", () => {
    const options = loadEngineSimOptions(
      ["--port", "9001", "--api=tgi", "--time-scale", "0", "--no-enable-prefix-caching", "--model", "m"],
      {
        ENGINE_SIM_PORT: "7000",
        ENGINE_SIM_KV_CAPACITY_BLOCKS: "512",
        ENGINE_SIM_DECODE_MS_PER_TOKEN: "3.5",
      },
    );
    expect(options).toMatchObject({
      port: 9001,
      api: "tgi",
      timeScale: 0,
      enablePrefixCaching: false,
      model: "m",
      kvCapacityBlocks: 512,
      decodeMsPerToken: 3.5,
    });
  });

  it("names the setting of a bad value", () => {
    expect(() => loadEngineSimOptions(["--port", "99999"], {})).toThrow(/--port \(ENGINE_SIM_PORT\)/);
    expect(() => loadEngineSimOptions([], { ENGINE_SIM_API: "sglang" })).toThrow(/--api/);
    expect(() => loadEngineSimOptions(["--enable-prefix-caching", "maybe"], {})).toThrow(
      /--enable-prefix-caching/,
    );
    expect(() => loadEngineSimOptions(["--bogus", "1"], {})).toThrow(ConfigError);
  });

  it("rejects a max model length the KV cache cannot hold, as vLLM does at start-up", () => {
    expect(() => parseEngineSimOptions({ kvCapacityBlocks: 10, blockSize: 16, maxModelLen: 4096 })).toThrow(
      /--max-model-len.*KV cache \(160\)/s,
    );
  });
});
