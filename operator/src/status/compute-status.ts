import type { Engine } from "../engines/engine.js";
import { selectorString } from "../model-deployment/labels.js";
import {
  type Condition,
  desiredReplicas,
  type EndpointStatus,
  type ModelDeployment,
  type ModelDeploymentStatus,
} from "../model-deployment/types.js";
import { mergeConditions } from "./conditions.js";
import { type EndpointSlice, endpointsFrom } from "./endpoints.js";
import { diagnosePods, loadingPods, type Pod, type Problem } from "./pod-diagnosis.js";
import { type DeploymentState, progressingCondition, replicaFailure } from "./rollout.js";

export interface StatusInputs {
  md: ModelDeployment;
  engine: Engine;
  deployment: DeploymentState | undefined;
  pods: Pod[];
  slices: EndpointSlice[];
  /** Why the last attempt to apply the children failed, if it did. */
  reconcileError?: Error;
  startupBudgetSeconds: number;
  /** RFC 3339, for condition transitions. */
  now: string;
}

/** The status the ModelDeployment should have, from what its children report. Pure: same inputs, same status. */
export function computeStatus(inputs: StatusInputs): ModelDeploymentStatus {
  const { md, deployment } = inputs;
  const desired = desiredReplicas(md);
  const endpoints = endpointsFrom(inputs.slices);
  const readyReplicas = deployment?.status?.readyReplicas ?? 0;
  const gpuResource = md.spec.resources?.gpu?.resourceName ?? "nvidia.com/gpu";
  const progressing = progressingCondition(deployment, desired);
  const problem = degradation(inputs, diagnosePods(inputs.pods, gpuResource), progressing);
  const conditions: Condition[] = [
    availableCondition(inputs, endpoints, desired, problem),
    progressing,
    problem
      ? { type: "Degraded", status: "True" as const, ...problem }
      : { type: "Degraded", status: "False" as const, reason: "AsExpected", message: "no problems found" },
  ].map((condition) => ({ ...condition, observedGeneration: md.metadata.generation }));
  return {
    observedGeneration: md.metadata.generation,
    replicas: deployment?.status?.replicas ?? 0,
    readyReplicas,
    readyText: `${readyReplicas}/${desired}`,
    selector: selectorString(md),
    endpoints,
    conditions: mergeConditions(md.status?.conditions, conditions, inputs.now),
  };
}

function degradation(
  inputs: StatusInputs,
  podProblem: Problem | undefined,
  progressing: Condition,
): Problem | undefined {
  if (inputs.reconcileError) {
    return { reason: "ReconcileError", message: inputs.reconcileError.message };
  }
  if (podProblem) return podProblem;
  const failure = replicaFailure(inputs.deployment);
  if (failure) return { reason: "ReplicaFailure", message: `pods cannot be created: ${failure}` };
  if (progressing.reason === "ProgressDeadlineExceeded") {
    return { reason: progressing.reason, message: progressing.message };
  }
  return undefined;
}

function availableCondition(
  inputs: StatusInputs,
  endpoints: EndpointStatus[],
  desired: number,
  problem: Problem | undefined,
): Condition {
  const ready = endpoints.filter((endpoint) => endpoint.ready).length;
  const model = inputs.md.spec.model.name;
  if (ready > 0) {
    const message = `${ready} of ${desired} replicas ready to serve ${model}`;
    return { type: "Available", status: "True", reason: "EndpointsReady", message };
  }
  const unavailable = (reason: string, message: string): Condition => ({
    type: "Available",
    status: "False",
    reason,
    message,
  });
  if (desired === 0) return unavailable("ScaledToZero", "spec.replicas is 0: no engine is running");
  if (problem) return unavailable(problem.reason, problem.message);
  if (loadingPods(inputs.pods) > 0) {
    const minutes = Math.round(inputs.startupBudgetSeconds / 60);
    return unavailable("Loading", `the engine is loading ${model} (allowed up to ${minutes} min to start)`);
  }
  return unavailable("NoReadyEndpoints", `no engine endpoint is ready yet for ${model}`);
}
