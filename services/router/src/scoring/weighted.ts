import { z } from "zod";
import { prefixParamsSchema } from "../prefix/prefix-tracker.js";
import {
  composeStrategy,
  type Filter,
  maxScorePicker,
  type Scorer,
  type WeightedScorer,
} from "./pipeline.js";
import {
  kvCacheUtilizationScorer,
  notSaturatedFilter,
  prefixCacheScorer,
  queueScorer,
  saturationParamsSchema,
} from "./scorers.js";
import { type Strategy, strategyPlugin } from "./strategy.js";

const scorerNames = ["prefix-cache", "queue", "kv-cache-utilization"] as const;

export const weightedParamsSchema = z
  .object({
    /**
     * Scorer name → weight. Defaults are the widely deployed GIE/llm-d profile: prefix-cache 3,
     * queue 2, kv-cache-utilization 2.
     */
    scorers: z
      .partialRecord(z.enum(scorerNames), z.number().min(0))
      .default({ "prefix-cache": 3, queue: 2, "kv-cache-utilization": 2 }),
    /** Set to drop saturated endpoints before scoring (GIE's saturation detector); off by default. */
    saturation: saturationParamsSchema.optional(),
    prefix: prefixParamsSchema.prefault({}),
  })
  .strict();

export type WeightedParams = z.input<typeof weightedParamsSchema>;

/** `weighted`: the GIE endpoint picker built from our pipeline, weights from configuration. */
export function createWeighted(params: z.output<typeof weightedParamsSchema>): Strategy {
  const build: Record<(typeof scorerNames)[number], () => Scorer> = {
    "prefix-cache": () => prefixCacheScorer(params.prefix),
    queue: queueScorer,
    "kv-cache-utilization": kvCacheUtilizationScorer,
  };
  const scorers: WeightedScorer[] = [];
  for (const name of scorerNames) {
    const weight = params.scorers[name];
    if (weight !== undefined && weight > 0) scorers.push({ scorer: build[name](), weight });
  }
  const filters: Filter[] = params.saturation ? [notSaturatedFilter(params.saturation)] : [];
  return composeStrategy("weighted", { filters, scorers, picker: maxScorePicker() });
}

export const weightedPlugin = strategyPlugin(weightedParamsSchema, createWeighted);

/** `round-robin`: the pipeline with no scorers; every candidate ties and the picker rotates. */
export const roundRobinPlugin = strategyPlugin(z.object({}).strict(), () =>
  composeStrategy("round-robin", { filters: [], scorers: [], picker: maxScorePicker() }),
);
