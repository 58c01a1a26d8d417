/**
 * The parts of a ModelDeployment (strata.dev/v1alpha1, charts/strata/crds/modeldeployment.yaml) the router
 * reads. The API server already validated the object against the CRD; this parse only guards against
 * versions of the resource this router does not know, so unknown fields are ignored, not refused.
 */
import { z } from "zod";

export const modelDeploymentGroup = "strata.dev";
export const modelDeploymentVersion = "v1alpha1";
export const modelDeploymentPlural = "modeldeployments";
/** Label the operator puts on everything a ModelDeployment owns; Services pass it on to their EndpointSlices. */
export const modelDeploymentLabel = "strata.dev/model-deployment";
/**
 * The engine's KV-cache capacity in tokens, when someone knows it (vLLM logs it at start-up): prefix
 * indexes size their per-endpoint memory from it. Not part of the spec because it is measured, not chosen.
 */
export const kvCapacityAnnotation = "strata.dev/kv-capacity-tokens";

const price = z.object({
  inputPerMillion: z.number().min(0).optional(),
  outputPerMillion: z.number().min(0).optional(),
  cachedInputPerMillion: z.number().min(0).optional(),
});

const modelDeploymentSchema = z.object({
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().min(1),
    annotations: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.unknown().optional(),
  }),
  spec: z.object({
    model: z.object({ name: z.string().min(1) }),
    engine: z.object({ kind: z.enum(["vllm", "tgi", "sim"]).default("vllm") }).prefault({}),
    adapters: z.array(z.object({ name: z.string().min(1) })).default([]),
    routing: z
      .object({
        strategy: z.string().min(1).optional(),
        tier: z.string().min(1).optional(),
        aliases: z.array(z.string().min(1)).default([]),
        fallbacks: z.array(z.string().min(1)).default([]),
        price: price.optional(),
      })
      .prefault({}),
    autoscaling: z.object({ scaleToZero: z.boolean().default(false) }).optional(),
  }),
  status: z
    .object({ conditions: z.array(z.object({ type: z.string(), status: z.string() })).default([]) })
    .optional(),
});

export type ModelPrice = z.output<typeof price>;

/** One ModelDeployment as routing sees it. */
export interface ModelDeploymentView {
  namespace: string;
  name: string;
  /** `namespace/name`, the key used in logs and endpoint ids. */
  key: string;
  model: string;
  api: "openai" | "tgi";
  adapters: string[];
  kvCapacityTokens: number | undefined;
  strategy: string | undefined;
  tier: string | undefined;
  aliases: string[];
  fallbacks: string[];
  price: ModelPrice | undefined;
  /** Deletion was requested (a finalizer may keep the object a while): it takes no new traffic. */
  deleting: boolean;
  /**
   * A request finding no ready replica wakes it: it scales to zero (spec.autoscaling.scaleToZero) and
   * nothing the operator reports as Degraded stands in the way of a replica starting.
   */
  wakeable: boolean;
}

export type ReadResult = { ok: true; view: ModelDeploymentView } | { ok: false; key: string; error: string };

/** Reads one object from the API; a malformed one is reported with the paths at fault. */
export function readModelDeployment(object: unknown): ReadResult {
  const parsed = modelDeploymentSchema.safeParse(object);
  if (!parsed.success) {
    const metadata = (object as { metadata?: { namespace?: string; name?: string } } | null)?.metadata;
    const key = `${metadata?.namespace ?? "?"}/${metadata?.name ?? "?"}`;
    const error = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    return { ok: false, key, error };
  }
  const { metadata, spec, status } = parsed.data;
  const degraded = status?.conditions.some((entry) => entry.type === "Degraded" && entry.status === "True");
  return {
    ok: true,
    view: {
      namespace: metadata.namespace,
      name: metadata.name,
      key: `${metadata.namespace}/${metadata.name}`,
      model: spec.model.name,
      // engine-sim speaks vLLM's OpenAI-compatible API; TGI has its own generate API.
      api: spec.engine.kind === "tgi" ? "tgi" : "openai",
      adapters: spec.adapters.map((adapter) => adapter.name),
      kvCapacityTokens: positiveInteger(metadata.annotations?.[kvCapacityAnnotation]),
      strategy: spec.routing.strategy,
      tier: spec.routing.tier,
      aliases: spec.routing.aliases,
      fallbacks: spec.routing.fallbacks,
      price: spec.routing.price,
      deleting: metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null,
      wakeable: spec.autoscaling?.scaleToZero === true && degraded !== true,
    },
  };
}

function positiveInteger(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}
