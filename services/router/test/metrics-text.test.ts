import { parseMetricsText } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { readEngineLoad } from "../src/engine-metrics/engine-load.js";

const vllmNew = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="llama-8b"} 3.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="llama-8b"} 5.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="llama-8b"} 0.42
vllm:gpu_cache_usage_perc{engine="0",model_name="llama-8b"} 0.99
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="llama-8b"} 0.0
`;

const vllmOld = `vllm:num_requests_running{model_name="llama-8b"} 1
vllm:num_requests_waiting{model_name="llama-8b"} 0
vllm:gpu_cache_usage_perc{model_name="llama-8b"} 0.25
`;

const tgi = `# TYPE tgi_queue_size gauge
tgi_queue_size 4
# TYPE tgi_batch_current_size gauge
tgi_batch_current_size 7
tgi_batch_current_max_tokens 2048
`;

describe("parseMetricsText", () => {
  it("reads only the wanted families, with labels and values", () => {
    const families = parseMetricsText(vllmNew, new Set(["vllm:num_requests_running"]));
    expect([...families.keys()]).toEqual(["vllm:num_requests_running"]);
    expect(families.get("vllm:num_requests_running")).toEqual([
      { labels: { engine: "0", model_name: "llama-8b" }, value: 3 },
    ]);
  });

  it("ignores garbage lines and keeps the good ones around them", () => {
    const text = [
      "this is not a metric",
      "wanted{broken 1",
      'wanted{a="unterminated} 2',
      "wanted not-a-number",
      "wanted",
      'wanted{a="x"} 4 1712345678000',
      "wanted_other 9",
      "\r",
      "wanted 5\r",
    ].join("\n");
    const samples = parseMetricsText(text, new Set(["wanted"])).get("wanted");
    expect(samples).toEqual([
      { labels: { a: "x" }, value: 4 },
      { labels: {}, value: 5 },
    ]);
  });

  it("unescapes quoted label values and accepts special floats", () => {
    const text = 'm{path="a\\"b\\\\c\\nd",x="y, z"} +Inf\nm NaN\n';
    const samples = parseMetricsText(text, new Set(["m"])).get("m")!;
    expect(samples[0]).toEqual({ labels: { path: 'a"b\\c\nd', x: "y, z" }, value: Number.POSITIVE_INFINITY });
    expect(samples[1]!.value).toBeNaN();
  });
});

describe("readEngineLoad", () => {
  it("reads vLLM's current names and prefers kv_cache_usage_perc over the old name", () => {
    expect(readEngineLoad(vllmNew, "openai", "llama-8b")).toEqual({
      running: 3,
      waiting: 5,
      kvCacheUsage: 0.42,
    });
  });

  it("falls back to gpu_cache_usage_perc on engines from before the rename", () => {
    expect(readEngineLoad(vllmOld, "openai", "llama-8b")).toEqual({
      running: 1,
      waiting: 0,
      kvCacheUsage: 0.25,
    });
  });

  it("reads TGI's queue and batch sizes, with no KV gauge", () => {
    expect(readEngineLoad(tgi, "tgi", "whatever")).toEqual({
      running: 7,
      waiting: 4,
      kvCacheUsage: undefined,
    });
  });

  it("does not read TGI families for an openai endpoint, nor vLLM ones for TGI", () => {
    expect(readEngineLoad(tgi, "openai", "m")).toEqual({
      running: undefined,
      waiting: undefined,
      kvCacheUsage: undefined,
    });
    expect(readEngineLoad(vllmNew, "tgi", "llama-8b").running).toBeUndefined();
  });

  it("counts only samples for the endpoint's model, summing data-parallel ranks", () => {
    const text = `vllm:num_requests_running{engine="0",model_name="a"} 2
vllm:num_requests_running{engine="1",model_name="a"} 3
vllm:num_requests_running{engine="0",model_name="b"} 100
vllm:num_requests_waiting{engine="0",model_name="b"} 50
vllm:kv_cache_usage_perc{engine="0",model_name="a"} 0.1
vllm:kv_cache_usage_perc{engine="1",model_name="a"} 0.6
`;
    expect(readEngineLoad(text, "openai", "a")).toEqual({
      running: 5,
      waiting: undefined,
      kvCacheUsage: 0.6,
    });
  });

  it("returns undefined fields for an empty or unrelated page", () => {
    expect(readEngineLoad("", "openai", "a")).toEqual({
      running: undefined,
      waiting: undefined,
      kvCacheUsage: undefined,
    });
  });
});
