import type { PersistentVolumeClaim } from "../children/model-cache-claim.js";
import type { PodDisruptionBudget } from "../children/pod-disruption-budget.js";
import type { Service } from "../children/service.js";
import type { KubeObject } from "../kube/kube-object.js";
import type { ModelDeployment } from "../model-deployment/types.js";
import type { EndpointSlice } from "../status/endpoints.js";
import type { Pod } from "../status/pod-diagnosis.js";
import type { DeploymentState } from "../status/rollout.js";

/** Read access to an informer's cache. */
export interface Cache<T extends KubeObject> {
  get(namespace: string, name: string): T | undefined;
  list(filter?: (object: T) => boolean): T[];
}

/** What the reconciler reads instead of asking the API server: the informers' caches. */
export interface Caches {
  modelDeployments: Cache<ModelDeployment>;
  deployments: Cache<DeploymentState>;
  services: Cache<Service>;
  podDisruptionBudgets: Cache<PodDisruptionBudget>;
  claims: Cache<PersistentVolumeClaim>;
  pods: Cache<Pod>;
  endpointSlices: Cache<EndpointSlice>;
}
