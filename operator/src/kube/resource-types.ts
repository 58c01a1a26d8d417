/**
 * The kinds the operator reads or writes, with their REST paths spelled out: a fixed table instead of
 * discovery round trips, since every one of them is a stable API (ServiceMonitor is checked separately
 * because it exists only where the Prometheus Operator is installed).
 */
export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
}

export const resourceTypes = {
  modelDeployment: { apiVersion: "strata.dev/v1alpha1", kind: "ModelDeployment", plural: "modeldeployments" },
  deployment: { apiVersion: "apps/v1", kind: "Deployment", plural: "deployments" },
  service: { apiVersion: "v1", kind: "Service", plural: "services" },
  podDisruptionBudget: {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
  },
  serviceMonitor: {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    plural: "servicemonitors",
  },
  persistentVolumeClaim: {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    plural: "persistentvolumeclaims",
  },
  pod: { apiVersion: "v1", kind: "Pod", plural: "pods" },
  endpointSlice: { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", plural: "endpointslices" },
  event: { apiVersion: "v1", kind: "Event", plural: "events" },
  lease: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", plural: "leases" },
} as const satisfies Record<string, ResourceType>;

/** `/api/v1/namespaces/ns/pods/name` or `/apis/apps/v1/deployments` (all namespaces when namespace is empty). */
export function resourcePath(
  type: ResourceType,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const root = type.apiVersion.includes("/") ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  const parts = [root];
  if (namespace) parts.push("namespaces", encodeURIComponent(namespace));
  parts.push(type.plural);
  if (name) parts.push(encodeURIComponent(name));
  if (subresource) parts.push(subresource);
  return parts.join("/");
}
