import { type MetricSample, parseMetricsText } from "@strata/kit";

export type EngineApi = "openai" | "tgi";

/** Load an engine reports about itself; a field is undefined when the engine does not expose it. */
export interface EngineLoad {
  running: number | undefined;
  waiting: number | undefined;
  /** Fraction of KV-cache blocks in use, 0..1 (vLLM only; TGI has no such gauge). */
  kvCacheUsage: number | undefined;
}

/** Which families hold which signal, per API flavour. Order in `kvCacheUsage` is preference order. */
const familyNames = {
  openai: {
    running: "vllm:num_requests_running",
    waiting: "vllm:num_requests_waiting",
    // vLLM renamed gpu_cache_usage_perc to kv_cache_usage_perc (PR #18354) and later removed the old
    // name; engines of either age are in the field, so read both and prefer the new one.
    kvCacheUsage: ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"],
  },
  tgi: {
    running: "tgi_batch_current_size",
    waiting: "tgi_queue_size",
    kvCacheUsage: [] as string[],
  },
} as const;

const wantedByApi: Record<EngineApi, ReadonlySet<string>> = {
  openai: new Set([
    familyNames.openai.running,
    familyNames.openai.waiting,
    ...familyNames.openai.kvCacheUsage,
  ]),
  tgi: new Set([familyNames.tgi.running, familyNames.tgi.waiting]),
};

/**
 * Extracts load from an engine's `/metrics` text. Samples labelled with another `model_name` are
 * ignored (one engine may serve several models, e.g. LoRA adapters); unlabelled samples count.
 */
export function readEngineLoad(text: string, api: EngineApi, model: string): EngineLoad {
  const families = parseMetricsText(text, wantedByApi[api]);
  const names = familyNames[api];
  const pick = (name: string) => forModel(families.get(name), model);
  const kvFamily = names.kvCacheUsage.map(pick).find((samples) => samples.length > 0) ?? [];
  return {
    running: sum(pick(names.running)),
    waiting: sum(pick(names.waiting)),
    // Data-parallel engines report one gauge per rank; the fullest rank is what new work meets.
    kvCacheUsage: kvFamily.length > 0 ? Math.max(...kvFamily.map((sample) => sample.value)) : undefined,
  };
}

function forModel(samples: MetricSample[] | undefined, model: string): MetricSample[] {
  if (!samples) return [];
  return samples.filter((sample) => {
    const name = sample.labels.model_name;
    return name === undefined || name === model;
  });
}

function sum(samples: MetricSample[]): number | undefined {
  if (samples.length === 0) return undefined;
  return samples.reduce((total, sample) => total + (Number.isFinite(sample.value) ? sample.value : 0), 0);
}
