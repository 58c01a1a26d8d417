/**
 * Configuration of Kubernetes discovery, for the router's config.ts to embed as `kubernetes`: where to
 * watch ModelDeployments and the EndpointSlices of their Services, and how to reach the API server.
 */
import { z } from "zod";
import { flag, positiveMs } from "../config-values.js";

export const kubernetesDiscoverySchema = z
  .object({
    enabled: flag.default(false),
    /**
     * The namespace to watch. Unset (or "*"): every namespace, which needs cluster-wide list/watch on
     * modeldeployments.strata.dev and endpointslices.discovery.k8s.io.
     */
    namespace: z
      .string()
      .regex(/^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/, "must be a namespace name or *")
      .optional(),
    /** A kubeconfig file; unset, the in-cluster service account is used. */
    kubeconfig: z.string().min(1).optional(),
    /**
     * How long start-up waits for the first complete list of ModelDeployments and EndpointSlices. Past
     * it the router starts anyway (static endpoints work) and reports not ready until the lists arrive.
     */
    initialSyncTimeoutMs: positiveMs.default(10_000),
    /** Cap of the exponential back-off between attempts to re-establish a failed watch. */
    retryMaxMs: positiveMs.default(30_000),
  })
  .strict();

export type KubernetesDiscoveryConfig = z.output<typeof kubernetesDiscoverySchema>;

/** The namespace to watch, or undefined for all of them. */
export function watchedNamespace(config: Pick<KubernetesDiscoveryConfig, "namespace">): string | undefined {
  return config.namespace === undefined || config.namespace === "*" ? undefined : config.namespace;
}
