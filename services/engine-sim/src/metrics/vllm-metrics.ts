/**
 * vLLM's Prometheus metrics, with vLLM's names, types, labels (model_name, engine) and bucket
 * boundaries (vllm/v1/metrics/loggers.py). Both the current names (kv_cache_usage_perc,
 * prefix_cache_*) and the deprecated ones (gpu_cache_usage_perc, gpu_prefix_cache_*) are served,
 * because routers in the wild read either. Prefix-cache counters count tokens, not requests.
 * Durations are model time (equal to wall time at --time-scale 1).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { EngineSnapshot } from "../model/scheduler.js";
import type { EngineListener } from "../model/sequence.js";

const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
  80.0, 160.0, 640.0, 2560.0,
];
const ITL_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
const REQUEST_LATENCY_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
  960.0, 1920.0, 7680.0,
];

/** vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50, ... up to maxValue. */
export function build125Buckets(maxValue: number): number[] {
  const buckets: number[] = [];
  for (let exponent = 0; ; exponent++) {
    for (const mantissa of [1, 2, 5]) {
      const value = mantissa * 10 ** exponent;
      if (value > maxValue) return buckets;
      buckets.push(value);
    }
  }
}

export interface VllmMetricsOptions {
  model: string;
  maxModelLen: number;
  blockSize: number;
  kvCapacityBlocks: number;
  enablePrefixCaching: boolean;
}

export function registerVllmMetrics(
  registry: Registry,
  options: VllmMetricsOptions,
  snapshot: () => EngineSnapshot,
): EngineListener {
  const labels = { model_name: options.model, engine: "0" };
  const labelNames = ["model_name", "engine"] as const;
  const registers = [registry];
  const gauge = (name: string, help: string, read: (state: EngineSnapshot) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.set(labels, read(snapshot()));
      },
    });
  const counter = (name: string, help: string) => {
    const metric = new Counter({ name, help, labelNames, registers });
    metric.inc(labels, 0);
    return metric.labels(labels);
  };
  const histogram = (name: string, help: string, buckets: number[]) =>
    new Histogram({ name, help, labelNames, buckets, registers }).labels(labels);

  gauge("vllm:num_requests_running", "Number of requests in model execution batches.", (s) => s.running);
  gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", (s) => s.waiting);
  gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", (s) => s.kvUsage);
  gauge(
    "vllm:gpu_cache_usage_perc",
    "GPU KV-cache usage. 1 means 100 percent usage. DEPRECATED: Use vllm:kv_cache_usage_perc instead.",
    (s) => s.kvUsage,
  );
  const cacheInfo = new Gauge({
    name: "vllm:cache_config_info",
    help: "Information of the LLMEngine CacheConfig",
    labelNames: [
      "engine",
      "block_size",
      "num_gpu_blocks",
      "enable_prefix_caching",
      "prefix_caching_hash_algo",
    ],
    registers,
  });
  cacheInfo.set(
    {
      engine: "0",
      block_size: String(options.blockSize),
      num_gpu_blocks: String(options.kvCapacityBlocks),
      enable_prefix_caching: options.enablePrefixCaching ? "True" : "False",
      prefix_caching_hash_algo: "strata_sha256_64",
    },
    1,
  );

  const prefixQueries = counter(
    "vllm:prefix_cache_queries_total",
    "Prefix cache queries, in terms of number of queried tokens.",
  );
  const prefixHits = counter(
    "vllm:prefix_cache_hits_total",
    "Prefix cache hits, in terms of number of cached tokens.",
  );
  const gpuPrefixQueries = counter(
    "vllm:gpu_prefix_cache_queries_total",
    "GPU prefix cache queries, in terms of number of queried tokens. DEPRECATED: Use vllm:prefix_cache_queries instead.",
  );
  const gpuPrefixHits = counter(
    "vllm:gpu_prefix_cache_hits_total",
    "GPU prefix cache hits, in terms of number of cached tokens. DEPRECATED: Use vllm:prefix_cache_hits instead.",
  );
  const preemptions = counter(
    "vllm:num_preemptions_total",
    "Cumulative number of preemption from the engine.",
  );
  const promptTokens = counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.");
  const generationTokens = counter("vllm:generation_tokens_total", "Number of generation tokens processed.");
  const success = new Counter({
    name: "vllm:request_success_total",
    help: "Count of successfully processed requests.",
    labelNames: [...labelNames, "finished_reason"],
    registers,
  });
  for (const reason of ["stop", "length", "abort"]) success.inc({ ...labels, finished_reason: reason }, 0);
  const aborted = new Counter({
    name: "strata_engine_sim_aborted_requests_total",
    help: "Sequences aborted before completion (client disconnect or shutdown); their KV blocks were freed.",
    labelNames,
    registers,
  });
  aborted.inc(labels, 0);

  const tokenBuckets = build125Buckets(options.maxModelLen);
  const ttft = histogram(
    "vllm:time_to_first_token_seconds",
    "Histogram of time to first token in seconds.",
    TTFT_BUCKETS,
  );
  const itl = histogram(
    "vllm:inter_token_latency_seconds",
    "Histogram of inter-token latency in seconds.",
    ITL_BUCKETS,
  );
  const e2e = histogram(
    "vllm:e2e_request_latency_seconds",
    "Histogram of e2e request latency in seconds.",
    REQUEST_LATENCY_BUCKETS,
  );
  const queue = histogram(
    "vllm:request_queue_time_seconds",
    "Histogram of time spent in WAITING phase for request.",
    REQUEST_LATENCY_BUCKETS,
  );
  const inference = histogram(
    "vllm:request_inference_time_seconds",
    "Histogram of time spent in RUNNING phase for request.",
    REQUEST_LATENCY_BUCKETS,
  );
  const prefill = histogram(
    "vllm:request_prefill_time_seconds",
    "Histogram of time spent in PREFILL phase for request.",
    REQUEST_LATENCY_BUCKETS,
  );
  const decode = histogram(
    "vllm:request_decode_time_seconds",
    "Histogram of time spent in DECODE phase for request.",
    REQUEST_LATENCY_BUCKETS,
  );
  const promptTokensPerRequest = histogram(
    "vllm:request_prompt_tokens",
    "Number of prefill tokens processed.",
    tokenBuckets,
  );
  const generationTokensPerRequest = histogram(
    "vllm:request_generation_tokens",
    "Number of generation tokens processed.",
    tokenBuckets,
  );

  const seconds = (ms: number) => Math.max(0, ms) / 1000;
  return {
    onAdmitted(_sequence, _now, cachedTokens, queriedTokens) {
      prefixQueries.inc(queriedTokens);
      prefixHits.inc(cachedTokens);
      gpuPrefixQueries.inc(queriedTokens);
      gpuPrefixHits.inc(cachedTokens);
    },
    onToken(sequence, index, now, interTokenMs) {
      generationTokens.inc();
      if (index === 0) {
        promptTokens.inc(sequence.request.promptTokenIds.length);
        ttft.observe(seconds(now - sequence.arrivalAt));
      } else if (interTokenMs !== null) {
        itl.observe(seconds(interTokenMs));
      }
    },
    onPreempted() {
      preemptions.inc();
    },
    onFinished(sequence, now, outcome) {
      if (outcome === "aborted") {
        aborted.inc(labels);
        return;
      }
      const scheduledAt = sequence.scheduledAt ?? sequence.arrivalAt;
      const firstTokenAt = sequence.firstTokenAt ?? now;
      success.inc({ ...labels, finished_reason: sequence.request.finishReason });
      e2e.observe(seconds(now - sequence.arrivalAt));
      queue.observe(seconds(scheduledAt - sequence.arrivalAt));
      inference.observe(seconds(now - scheduledAt));
      prefill.observe(seconds(firstTokenAt - scheduledAt));
      decode.observe(seconds(now - firstTokenAt));
      promptTokensPerRequest.observe(sequence.request.promptTokenIds.length);
      generationTokensPerRequest.observe(sequence.generated);
    },
  };
}
