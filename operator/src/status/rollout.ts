import type { KubeObject } from "../kube/kube-object.js";
import type { Condition } from "../model-deployment/types.js";

export interface DeploymentState extends KubeObject {
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

/**
 * Progressing, read from the engine Deployment the way `kubectl rollout status` does: True while the
 * Deployment controller has not seen the latest template, new replicas are still being created or old
 * ones are still running; False once every replica runs the current spec, or when the rollout is stuck.
 */
export function progressingCondition(deployment: DeploymentState | undefined, desired: number): Condition {
  const progressing = (reason: string, message: string): Condition => ({
    type: "Progressing",
    status: "True",
    reason,
    message,
  });
  if (!deployment) return progressing("Creating", "creating the engine Deployment");
  const status = deployment.status ?? {};
  const stuck = status.conditions?.find(
    (condition) => condition.type === "Progressing" && condition.reason === "ProgressDeadlineExceeded",
  );
  if (stuck) {
    const message = `the rollout made no progress before its deadline: ${stuck.message ?? ""}`.trim();
    return { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message };
  }
  if ((deployment.metadata.generation ?? 0) > (status.observedGeneration ?? 0)) {
    return progressing(
      "RolloutPending",
      "waiting for the Deployment controller to start rolling out the new spec",
    );
  }
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired) {
    return progressing("RollingOut", `${updated} of ${desired} replicas run the current spec`);
  }
  if (total > updated) {
    return progressing("RollingOut", `${total - updated} old replicas are still shutting down`);
  }
  if (available < updated) {
    return progressing("RollingOut", `waiting for ${updated - available} replicas to become available`);
  }
  const done = desired === 0 ? "scaled to zero" : `all ${desired} replicas run the current spec`;
  return { type: "Progressing", status: "False", reason: "RolloutComplete", message: done };
}

/** The Deployment's own ReplicaFailure (quota, admission refusing pods). */
export function replicaFailure(deployment: DeploymentState | undefined): string | undefined {
  const failure = deployment?.status?.conditions?.find(
    (condition) => condition.type === "ReplicaFailure" && condition.status === "True",
  );
  return failure ? (failure.message ?? failure.reason ?? "pods cannot be created") : undefined;
}
