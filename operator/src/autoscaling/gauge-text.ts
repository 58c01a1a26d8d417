import { parseMetricsText } from "@strata/kit";

/**
 * Sums the samples of named gauges in Prometheus text exposition (lines of other families are skipped
 * by name before any label is read). Every sample of a family counts: an engine serving a base model
 * and its adapters reports one per `model_name`, and all of them load the same replica. Samples whose
 * value is not a finite number are ignored; a family with none is absent from the result.
 */
export function sumGauges(text: string, names: readonly string[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const [name, samples] of parseMetricsText(text, new Set(names))) {
    for (const { value } of samples) {
      if (Number.isFinite(value)) sums.set(name, (sums.get(name) ?? 0) + value);
    }
  }
  return sums;
}
