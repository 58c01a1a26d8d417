import { describe, expect, it } from "vitest";
import { simEngine } from "../../src/engines/sim.js";
import { labelValue } from "../../src/model-deployment/labels.js";
import type { ModelDeployment } from "../../src/model-deployment/types.js";
import { computeStatus, type StatusInputs } from "../../src/status/compute-status.js";
import { endpointsFrom } from "../../src/status/endpoints.js";
import { diagnosePods, type Pod } from "../../src/status/pod-diagnosis.js";

const pod = (name: string, status: Pod["status"]): Pod => ({ metadata: { name }, status });
const waiting = (reason: string, message?: string) => ({
  containerStatuses: [
    { name: "engine", ready: false, restartCount: 0, state: { waiting: { reason, message } } },
  ],
});

describe("diagnosePods", () => {
  it("names an image that cannot be pulled, and the field to fix", () => {
    expect(
      diagnosePods(
        [pod("p1", waiting("ImagePullBackOff", 'Back-off pulling image "vllm:nope"'))],
        "nvidia.com/gpu",
      ),
    ).toEqual({
      reason: "ImagePullBackOff",
      message:
        'pod p1 cannot pull its image: Back-off pulling image "vllm:nope". Check spec.engine.image and the cluster\'s access to the registry.',
    });
  });

  it("points a missing token secret at spec.hubTokenSecretRef", () => {
    const problem = diagnosePods(
      [pod("p1", waiting("CreateContainerConfigError", 'secret "hf-token" not found'))],
      "nvidia.com/gpu",
    );
    expect(problem?.reason).toBe("CreateContainerConfigError");
    expect(problem?.message).toContain('secret "hf-token" not found. Check spec.hubTokenSecretRef');
  });

  it("tells an out-of-memory engine from one that crashes", () => {
    const oom = pod("p1", {
      containerStatuses: [
        {
          name: "engine",
          restartCount: 3,
          state: { waiting: { reason: "CrashLoopBackOff" } },
          lastState: { terminated: { reason: "OOMKilled", exitCode: 137 } },
        },
      ],
    });
    expect(diagnosePods([oom], "nvidia.com/gpu")).toEqual({
      reason: "OOMKilled",
      message:
        "the engine in pod p1 ran out of memory (OOMKilled, 3 restarts). Raise spec.resources.memory or lower spec.serving.maxModelLen.",
    });
  });

  it("explains pods no node can take, with GPU advice when GPUs are what is missing", () => {
    const unschedulable = (name: string, message: string) =>
      pod(name, {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message }],
      });
    const gpus = diagnosePods(
      [
        unschedulable("p1", "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."),
        pod("p2", { phase: "Running" }),
      ],
      "nvidia.com/gpu",
    );
    expect(gpus).toEqual({
      reason: "Unschedulable",
      message:
        "pod p1 cannot be scheduled: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu. No node has enough free nvidia.com/gpu: add GPU nodes or lower spec.resources.gpu.count. (1 of 2 pods)",
    });
    const taints = diagnosePods(
      [unschedulable("p1", "0/2 nodes are available: 2 node(s) had untolerated taint.")],
      "nvidia.com/gpu",
    );
    expect(taints?.message).toContain(
      "Check spec.resources, spec.nodeSelector, spec.tolerations and spec.affinity.",
    );
  });

  it("reports the most severe problem first and nothing for healthy pods", () => {
    const crash = pod("a", waiting("CrashLoopBackOff"));
    const image = pod("b", waiting("ErrImagePull"));
    expect(diagnosePods([crash, image], "nvidia.com/gpu")?.reason).toBe("ErrImagePull");
    const healthy = pod("c", {
      containerStatuses: [{ name: "engine", ready: true, state: { running: {} } }],
    });
    expect(diagnosePods([healthy], "nvidia.com/gpu")).toBeUndefined();
  });
});

describe("endpointsFrom", () => {
  it("builds URLs from the http port, brackets IPv6, treats a missing ready as ready", () => {
    const endpoints = endpointsFrom([
      {
        metadata: { name: "s1" },
        addressType: "IPv4",
        ports: [{ name: "http", port: 8000 }],
        endpoints: [
          { addresses: ["10.0.0.2"], conditions: { ready: true }, targetRef: { name: "b" } },
          { addresses: ["10.0.0.1"], targetRef: { name: "a" } },
          {
            addresses: ["10.0.0.3"],
            conditions: { ready: true, terminating: true },
            targetRef: { name: "c" },
          },
        ],
      },
      {
        metadata: { name: "s2" },
        addressType: "IPv6",
        ports: [{ name: "http", port: 8000 }],
        endpoints: [{ addresses: ["fd00::5"], conditions: { ready: false }, targetRef: { name: "d" } }],
      },
      {
        metadata: { name: "no-http" },
        ports: [{ name: "grpc", port: 9000 }],
        endpoints: [{ addresses: ["10.0.0.9"] }],
      },
    ]);
    expect(endpoints).toEqual([
      { name: "a", url: "http://10.0.0.1:8000", ready: true },
      { name: "b", url: "http://10.0.0.2:8000", ready: true },
      { name: "c", url: "http://10.0.0.3:8000", ready: false },
      { name: "d", url: "http://[fd00::5]:8000", ready: false },
    ]);
  });
});

describe("computeStatus", () => {
  const md: ModelDeployment = {
    metadata: { name: "m", namespace: "ns", generation: 3 },
    spec: { model: { name: "sim-model", source: "hf://a/b" }, engine: { kind: "sim" }, replicas: 2 },
  };
  const inputs = (overrides: Partial<StatusInputs>): StatusInputs => ({
    md,
    engine: simEngine,
    deployment: undefined,
    pods: [],
    slices: [],
    startupBudgetSeconds: 1800,
    now: "2030-01-01T00:00:00Z",
    ...overrides,
  });

  it("says a loading engine is loading, not broken", () => {
    const loading = pod("p", {
      containerStatuses: [{ name: "engine", ready: false, state: { running: {} } }],
    });
    const status = computeStatus(inputs({ pods: [loading] }));
    expect(status.conditions?.find((condition) => condition.type === "Available")).toMatchObject({
      status: "False",
      reason: "Loading",
      message: "the engine is loading sim-model (allowed up to 30 min to start)",
      observedGeneration: 3,
    });
    expect(status.readyText).toBe("0/2");
  });

  it("keeps transition times of conditions whose status did not change", () => {
    const first = computeStatus(inputs({}));
    const later = computeStatus(inputs({ md: { ...md, status: first }, now: "2030-01-01T01:00:00Z" }));
    expect(later).toEqual(first);
    const failed = computeStatus(
      inputs({
        md: { ...md, status: first },
        now: "2030-01-01T02:00:00Z",
        reconcileError: new Error("quota exceeded"),
      }),
    );
    const degraded = failed.conditions?.find((condition) => condition.type === "Degraded");
    expect(degraded).toMatchObject({ status: "True", reason: "ReconcileError", message: "quota exceeded" });
    expect(degraded?.lastTransitionTime).toBe("2030-01-01T02:00:00Z");
    expect(failed.conditions?.find((condition) => condition.type === "Available")?.lastTransitionTime).toBe(
      "2030-01-01T00:00:00Z",
    );
  });

  it("reads a stuck rollout and replica failures from the Deployment", () => {
    const deployment = {
      metadata: { name: "m", generation: 2 },
      status: {
        observedGeneration: 2,
        replicas: 2,
        updatedReplicas: 1,
        conditions: [
          {
            type: "Progressing",
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: 'ReplicaSet "m-1" has timed out progressing.',
          },
        ],
      },
    };
    const stuck = computeStatus(inputs({ deployment }));
    expect(stuck.conditions?.find((condition) => condition.type === "Progressing")).toMatchObject({
      status: "False",
      reason: "ProgressDeadlineExceeded",
    });
    expect(stuck.conditions?.find((condition) => condition.type === "Degraded")).toMatchObject({
      status: "True",
      reason: "ProgressDeadlineExceeded",
    });
    const quota = computeStatus(
      inputs({
        deployment: {
          metadata: { name: "m", generation: 1 },
          status: {
            observedGeneration: 1,
            conditions: [
              { type: "ReplicaFailure", status: "True", message: 'pods "m-x" is forbidden: exceeded quota' },
            ],
          },
        },
      }),
    );
    expect(quota.conditions?.find((condition) => condition.type === "Degraded")).toMatchObject({
      reason: "ReplicaFailure",
      message: 'pods cannot be created: pods "m-x" is forbidden: exceeded quota',
    });
  });

  it("calls zero replicas scaled to zero", () => {
    const status = computeStatus(inputs({ md: { ...md, spec: { ...md.spec, replicas: 0 } } }));
    expect(status.conditions?.find((condition) => condition.type === "Available")).toMatchObject({
      reason: "ScaledToZero",
    });
  });
});

describe("labelValue", () => {
  it("keeps model names readable within label rules", () => {
    expect(labelValue("meta-llama/Llama-3.1-8B-Instruct")).toBe("meta-llama.Llama-3.1-8B-Instruct");
    expect(labelValue("org/model:latest")).toBe("org.model.latest");
    const long = labelValue(`acme/${"x".repeat(120)}`);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/);
    expect(labelValue(`acme/${"x".repeat(120)}`)).not.toBe(labelValue(`acme/${"x".repeat(119)}y`));
  });
});
