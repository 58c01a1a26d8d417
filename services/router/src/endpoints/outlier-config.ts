import { z } from "zod";
import { flag, positiveMs } from "../config-values.js";

/**
 * Outlier ejection (Envoy's outlier_detection, consecutive-failure flavour): an endpoint whose
 * requests keep failing is taken out of routing for a while even though its /health still passes,
 * e.g. an engine that is up but answers every generation with an error.
 */
export const outlierDetectionSchema = z
  .object({
    enabled: flag.default(true),
    /** Failed Reports in a row (upstream error, connect error, timeout) that eject (Envoy consecutive_5xx). */
    consecutiveFailures: z.coerce.number().int().min(1).default(5),
    /** First ejection's length; each ejection soon after the previous one doubles it (Envoy base_ejection_time). */
    baseEjectionMs: positiveMs.default(30_000),
    /** Cap on an ejection's length (Envoy max_ejection_time). */
    maxEjectionMs: positiveMs.default(300_000),
    /**
     * At most this share of a model's endpoints is ejected at once, but always at least one may be
     * (Envoy max_ejection_percent); an ejection that would leave a model without a routable
     * endpoint never happens.
     */
    maxEjectionPercent: z.coerce.number().min(0).max(100).default(10),
  })
  .strict();

export type OutlierDetectionConfig = z.output<typeof outlierDetectionSchema>;
