import { startupBudgetSeconds } from "../children/probes.js";
import { engines } from "../engines/engines.js";
import type { EventSink } from "../kube/event-recorder.js";
import type { KubeClient } from "../kube/kube-client.js";
import { resourceTypes } from "../kube/resource-types.js";
import { labelKeys } from "../model-deployment/labels.js";
import { type Condition, engineKindOf, type ModelDeployment } from "../model-deployment/types.js";
import { computeStatus } from "../status/compute-status.js";
import { findCondition } from "../status/conditions.js";
import type { DeploymentState } from "../status/rollout.js";
import type { Caches } from "./caches.js";
import { canonicalJson } from "./canonical-json.js";

export interface StatusWriterDeps {
  client: Pick<KubeClient, "apply">;
  caches: Caches;
  events: EventSink;
  now: () => string;
}

/**
 * Computes the status from the children and writes it through the status subresource, but only when it
 * differs from what is stored: a no-op reconcile makes no write. Condition changes become Events.
 */
export async function writeStatus(
  deps: StatusWriterDeps,
  md: ModelDeployment,
  deployment: DeploymentState | undefined,
  reconcileError: Error | undefined,
): Promise<void> {
  const namespace = md.metadata.namespace ?? "";
  const name = md.metadata.name;
  const engine = engines[engineKindOf(md)];
  const status = computeStatus({
    md,
    engine,
    deployment,
    pods: deps.caches.pods.list(
      (pod) =>
        pod.metadata.namespace === namespace && pod.metadata.labels?.[labelKeys.modelDeployment] === name,
    ),
    slices: deps.caches.endpointSlices.list(
      (slice) =>
        slice.metadata.namespace === namespace &&
        slice.metadata.labels?.["kubernetes.io/service-name"] === name,
    ),
    reconcileError,
    startupBudgetSeconds: startupBudgetSeconds(md, engine),
    now: deps.now(),
  });
  if (canonicalJson(md.status ?? {}) === canonicalJson(status)) return;
  await deps.client.apply(resourceTypes.modelDeployment, { metadata: { name, namespace }, status } as never, {
    subresource: "status",
    force: true,
  });
  await recordTransitions(deps.events, md, md.status?.conditions, status.conditions ?? []);
}

async function recordTransitions(
  events: EventSink,
  md: ModelDeployment,
  before: Condition[] | undefined,
  after: Condition[],
): Promise<void> {
  const was = (type: "Available" | "Degraded" | "Progressing") => findCondition(before, type);
  const now = (type: "Available" | "Degraded" | "Progressing") => findCondition(after, type);
  const degraded = now("Degraded");
  if (
    degraded?.status === "True" &&
    (was("Degraded")?.status !== "True" || was("Degraded")?.reason !== degraded.reason)
  ) {
    await events.record(md, "Warning", degraded.reason, degraded.message);
  } else if (degraded?.status === "False" && was("Degraded")?.status === "True") {
    await events.record(md, "Normal", "Recovered", "no longer degraded");
  }
  const available = now("Available");
  if (available?.status === "True" && was("Available")?.status !== "True") {
    await events.record(md, "Normal", "Available", available.message);
  } else if (available?.status === "False" && was("Available")?.status === "True") {
    await events.record(md, "Warning", "Unavailable", available.message);
  }
  const progressing = now("Progressing");
  if (progressing?.reason === "RolloutComplete" && was("Progressing")?.status === "True") {
    await events.record(md, "Normal", "RolloutComplete", progressing.message);
  }
}
