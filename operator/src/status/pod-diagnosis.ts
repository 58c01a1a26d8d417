import type { KubeObject } from "../kube/kube-object.js";

interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { reason?: string; exitCode?: number; message?: string };
}

export interface Pod extends KubeObject {
  status?: {
    phase?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    containerStatuses?: Array<{
      name: string;
      ready?: boolean;
      started?: boolean;
      restartCount?: number;
      state?: ContainerState;
      lastState?: ContainerState;
    }>;
  };
}

export interface Problem {
  reason: string;
  message: string;
}

const imageReasons = new Set(["ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"]);
const configReasons = new Set(["CreateContainerConfigError", "CreateContainerError"]);

/** Most severe first: a bad image or missing secret will never fix itself, a crash loop might. */
const severity = ["image", "config", "oom", "crash", "unschedulable"] as const;
type Kind = (typeof severity)[number];

/**
 * What keeps engine pods from serving, read from their status the way a person would with
 * `kubectl describe pod`, phrased with the spec field to change. Undefined when nothing is wrong.
 */
export function diagnosePods(pods: Pod[], gpuResource: string): Problem | undefined {
  const found: Array<{ kind: Kind; pod: string; problem: Problem }> = [];
  for (const pod of pods) {
    const problem = diagnosePod(pod, gpuResource);
    if (problem) found.push({ ...problem, pod: pod.metadata.name });
  }
  if (found.length === 0) return undefined;
  found.sort((a, b) => severity.indexOf(a.kind) - severity.indexOf(b.kind) || a.pod.localeCompare(b.pod));
  const worst = found[0]!;
  const alike = found.filter((entry) => entry.problem.reason === worst.problem.reason).length;
  const scope = pods.length > 1 ? ` (${alike} of ${pods.length} pods)` : "";
  return { reason: worst.problem.reason, message: `${worst.problem.message}${scope}` };
}

function diagnosePod(pod: Pod, gpuResource: string): { kind: Kind; problem: Problem } | undefined {
  const name = pod.metadata.name;
  for (const container of pod.status?.containerStatuses ?? []) {
    const waiting = container.state?.waiting;
    const detail = waiting?.message ? `: ${waiting.message}` : "";
    if (waiting?.reason && imageReasons.has(waiting.reason)) {
      const message = `pod ${name} cannot pull its image${detail}. Check spec.engine.image and the cluster's access to the registry.`;
      return { kind: "image", problem: { reason: waiting.reason, message } };
    }
    if (waiting?.reason && configReasons.has(waiting.reason)) {
      const message = `pod ${name} cannot start its engine container${detail}. Check spec.hubTokenSecretRef and spec.engine.env.`;
      return { kind: "config", problem: { reason: waiting.reason, message } };
    }
    const last = container.lastState?.terminated ?? container.state?.terminated;
    if (last?.reason === "OOMKilled") {
      const message = `the engine in pod ${name} ran out of memory (OOMKilled, ${container.restartCount ?? 0} restarts). Raise spec.resources.memory or lower spec.serving.maxModelLen.`;
      return { kind: "oom", problem: { reason: "OOMKilled", message } };
    }
    if (waiting?.reason === "CrashLoopBackOff") {
      const exit = last
        ? ` (last exit code ${last.exitCode ?? "?"}${last.reason ? `, ${last.reason}` : ""})`
        : "";
      const message = `the engine in pod ${name} keeps exiting${exit}, restarted ${container.restartCount ?? 0} times. See kubectl logs ${name} -c engine --previous.`;
      return { kind: "crash", problem: { reason: "CrashLoopBackOff", message } };
    }
  }
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === "PodScheduled");
  if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
    const why = scheduled.message ?? "no node fits";
    const advice = why.includes(gpuResource)
      ? `No node has enough free ${gpuResource}: add GPU nodes or lower spec.resources.gpu.count.`
      : "Check spec.resources, spec.nodeSelector, spec.tolerations and spec.affinity.";
    return {
      kind: "unschedulable",
      problem: { reason: "Unschedulable", message: `pod ${name} cannot be scheduled: ${why} ${advice}` },
    };
  }
  return undefined;
}

/** Pods whose engine started but is not ready yet: still loading weights or warming up. */
export function loadingPods(pods: Pod[]): number {
  return pods.filter((pod) =>
    pod.status?.containerStatuses?.some((container) => container.state?.running && !container.ready),
  ).length;
}
