import type { ChildOptions } from "../children/child-options.js";
import { type Deployment, desiredDeployment } from "../children/deployment.js";
import { desiredModelCacheClaim } from "../children/model-cache-claim.js";
import { desiredPodDisruptionBudget } from "../children/pod-disruption-budget.js";
import { desiredService } from "../children/service.js";
import { desiredServiceMonitor } from "../children/service-monitor.js";
import type { EventSink } from "../kube/event-recorder.js";
import type { KubeObject } from "../kube/kube-object.js";
import { type ResourceType, resourceTypes } from "../kube/resource-types.js";
import { engineKindOf, type ModelDeployment } from "../model-deployment/types.js";
import type { DeploymentState } from "../status/rollout.js";
import type { Cache, Caches } from "./caches.js";
import { canonicalJson } from "./canonical-json.js";
import type { AppliedChild, ChildApplier } from "./child-applier.js";

export interface ChildrenSyncDeps {
  applier: ChildApplier;
  caches: Caches;
  events: EventSink;
  options: ChildOptions;
  /** Whether the cluster serves ServiceMonitors right now. */
  serviceMonitors: { readonly isAvailable: boolean };
}

/**
 * Applies every child of a ModelDeployment (cache claim first, since the pods mount it) and records an
 * Event for each change a person would want to know about. Returns the engine Deployment as the API
 * server answered the apply, which is fresher than the informer's copy.
 */
export async function syncChildren(deps: ChildrenSyncDeps, md: ModelDeployment): Promise<DeploymentState> {
  const { applier, caches, events, options } = deps;
  const applyAndAnnounce = async <T extends KubeObject>(
    type: ResourceType,
    desired: KubeObject,
    cache?: Cache<T>,
  ) => announceCreated(events, md, await applier.apply(md, type, desired, cache));
  const claim = desiredModelCacheClaim(md);
  if (claim) await applyAndAnnounce(resourceTypes.persistentVolumeClaim, claim, caches.claims);
  const deployment = await applier.apply<Deployment & DeploymentState>(
    md,
    resourceTypes.deployment,
    desiredDeployment(md, options),
    caches.deployments as Cache<Deployment & DeploymentState>,
  );
  await announceDeployment(events, md, deployment);
  await applyAndAnnounce(resourceTypes.service, desiredService(md), caches.services);
  await applyAndAnnounce(
    resourceTypes.podDisruptionBudget,
    desiredPodDisruptionBudget(md),
    caches.podDisruptionBudgets,
  );
  if (deps.serviceMonitors.isAvailable) {
    // No informer for ServiceMonitors: the kind may not exist, so the applier looks the object up itself.
    await applyAndAnnounce(resourceTypes.serviceMonitor, desiredServiceMonitor(md));
  }
  return deployment.object;
}

async function announceCreated(events: EventSink, md: ModelDeployment, applied: AppliedChild<KubeObject>) {
  if (applied.previous) return;
  const { kind, metadata } = applied.object;
  await events.record(md, "Normal", `${kind}Created`, `created ${kind} ${metadata.name}`);
}

/** Created, scaled, or rolling out a new engine spec: the three things `kubectl describe md` should say. */
async function announceDeployment(
  events: EventSink,
  md: ModelDeployment,
  applied: AppliedChild<Deployment & DeploymentState>,
): Promise<void> {
  const { object, previous, changed } = applied;
  const name = object.metadata.name;
  if (!previous) {
    const message = `created Deployment ${name}: ${engineKindOf(md)} serving ${md.spec.model.name}, ${object.spec?.replicas ?? 0} replicas`;
    await events.record(md, "Normal", "DeploymentCreated", message);
    return;
  }
  if (!changed) return;
  const before = previous.spec?.replicas ?? 0;
  const after = object.spec?.replicas ?? 0;
  if (before !== after) {
    await events.record(
      md,
      "Normal",
      "Scaled",
      `scaled Deployment ${name} from ${before} to ${after} replicas`,
    );
  }
  if (canonicalJson(previous.spec?.template) !== canonicalJson(object.spec?.template)) {
    const message = `engine spec changed: rolling out Deployment ${name} (generation ${object.metadata.generation})`;
    await events.record(md, "Normal", "RollingUpdate", message);
  }
}
