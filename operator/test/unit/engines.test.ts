import { loadEngineSimOptions } from "@strata/engine-sim";
import { describe, expect, it } from "vitest";
import { desiredDeployment } from "../../src/children/deployment.js";
import { desiredPodDisruptionBudget } from "../../src/children/pod-disruption-budget.js";
import { simEngine } from "../../src/engines/sim.js";
import { tgiEngine } from "../../src/engines/tgi.js";
import { vllmEngine } from "../../src/engines/vllm.js";
import type { ModelDeploymentSpec } from "../../src/model-deployment/types.js";
import { modelDeployment } from "../support/fixtures.js";

const images = { vllm: "vllm:test", tgi: "tgi:test", sim: "sim:test" };
const md = (spec: ModelDeploymentSpec) => ({
  ...modelDeployment("ns", "m", spec),
  metadata: { name: "m", namespace: "ns", uid: "u1" },
});

describe("engine command lines", () => {
  it("vLLM: turns prefix caching off explicitly and mounts pvc:// sources", () => {
    const { command, args } = vllmEngine.invocation(
      md({
        model: { name: "local", source: "pvc://weights/llama/8b" },
        serving: { prefixCaching: false, dtype: "bfloat16" },
        adapters: [
          { name: "a", source: "pvc://loras/a" },
          { name: "b", source: "hf://org/b" },
        ],
      }),
    );
    expect(command).toEqual(["vllm", "serve"]);
    expect(args).toEqual([
      "/mnt/pvc/weights/llama/8b",
      "--served-model-name",
      "local",
      "--host",
      "0.0.0.0",
      "--port",
      "8000",
      "--no-enable-prefix-caching",
      "--tensor-parallel-size",
      "1",
      "--dtype",
      "bfloat16",
      "--enable-lora",
      "--max-loras",
      "2",
      "--lora-modules",
      "a=/mnt/pvc/loras/a",
      "b=org/b",
    ]);
  });

  it("TGI: launcher flags, input limit below the total, prefix caching through PREFIX_CACHING", () => {
    const invocation = tgiEngine.invocation(
      md({
        model: { name: "mistral", source: "hf://mistralai/Mistral-7B-Instruct-v0.3", revision: "v1" },
        engine: { kind: "tgi", args: ["--max-concurrent-requests", "256"] },
        serving: {
          maxModelLen: 8192,
          quantization: "awq",
          tensorParallelSize: 2,
          gpuMemoryUtilization: 0.8,
          prefixCaching: false,
        },
        adapters: [{ name: "support", source: "hf://predibase/customer_support" }],
      }),
    );
    expect(invocation.command).toEqual(["text-generation-launcher"]);
    expect(invocation.args).toEqual([
      "--model-id",
      "mistralai/Mistral-7B-Instruct-v0.3",
      "--revision",
      "v1",
      "--hostname",
      "0.0.0.0",
      "--port",
      "8000",
      "--num-shard",
      "2",
      "--max-total-tokens",
      "8192",
      "--max-input-tokens",
      "8191",
      "--quantize",
      "awq",
      "--cuda-memory-fraction",
      "0.8",
      "--lora-adapters",
      "predibase/customer_support",
      "--max-concurrent-requests",
      "256",
    ]);
    expect(invocation.env).toEqual([{ name: "PREFIX_CACHING", value: "0" }]);
    expect(
      tgiEngine.invocation(md({ model: { name: "x", source: "hf://a/b" }, serving: { dtype: "auto" } })).args,
    ).not.toContain("--dtype");
  });

  it("sim: a command line engine-sim itself accepts, with the served name and a KV cache that fits", () => {
    const { command, args } = simEngine.invocation(
      md({
        model: { name: "sim-llama", source: "hf://a/b" },
        engine: { kind: "sim" },
        serving: { maxModelLen: 131072 },
      }),
    );
    expect(command).toEqual(["engine-sim"]);
    const options = loadEngineSimOptions(args, {});
    expect(options).toMatchObject({
      host: "0.0.0.0",
      port: 8000,
      model: "sim-llama",
      api: "vllm",
      maxModelLen: 131072,
      kvCapacityBlocks: 8192,
      enablePrefixCaching: true,
    });
    const off = simEngine.invocation(
      md({ model: { name: "s", source: "hf://a/b" }, serving: { prefixCaching: false } }),
    );
    expect(loadEngineSimOptions(off.args, {}).enablePrefixCaching).toBe(false);
  });
});

describe("pod template", () => {
  it("asks no GPU, cache or hub token for engine-sim", () => {
    const deployment = desiredDeployment(
      md({
        model: { name: "s", source: "hf://a/b" },
        engine: { kind: "sim" },
        hubTokenSecretRef: { name: "t" },
        resources: { gpu: { count: 4 } },
      }),
      { images },
    );
    const pod = deployment.spec!.template.spec!;
    expect(pod.containers[0]!.image).toBe("sim:test");
    expect(pod.containers[0]!.resources).toEqual({});
    expect(pod.containers[0]!.env).toEqual([]);
    expect(pod.volumes).toEqual([]);
    expect(pod.tolerations).toBeUndefined();
    // engine-sim starts in seconds: a two-minute budget.
    expect(pod.containers[0]!.startupProbe?.failureThreshold).toBe(12);
  });

  it("lets the spec override image, startup budget and the operator's environment", () => {
    const deployment = desiredDeployment(
      md({
        model: { name: "v", source: "hf://a/b" },
        engine: {
          image: "vllm:custom",
          startupTimeoutSeconds: 3600,
          env: [{ name: "HF_HOME", value: "/scratch" }],
        },
        resources: { gpu: { count: 1, resourceName: "amd.com/gpu", type: "MI300X" } },
        tolerations: [{ key: "amd.com/gpu", operator: "Equal", value: "present", effect: "NoSchedule" }],
      }),
      { images },
    );
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(container.image).toBe("vllm:custom");
    expect(container.startupProbe?.failureThreshold).toBe(360);
    expect(deployment.spec!.progressDeadlineSeconds).toBe(4200);
    expect(container.env).toEqual([{ name: "HF_HOME", value: "/scratch" }]);
    expect(container.resources?.limits).toEqual({ "amd.com/gpu": "1" });
    expect(pod.nodeSelector).toEqual({ "amd.com/gpu.product-name": "MI300X" });
    // The user's own toleration for the GPU taint is kept, not doubled.
    expect(pod.tolerations).toEqual([
      { key: "amd.com/gpu", operator: "Equal", value: "present", effect: "NoSchedule" },
    ]);
  });

  it("replicas come from spec.replicas, else the autoscaling floor; the PDB follows", () => {
    const fromSpec = md({
      model: { name: "v", source: "hf://a/b" },
      replicas: 4,
      autoscaling: { minReplicas: 2, maxReplicas: 8 },
    });
    expect(desiredDeployment(fromSpec, { images }).spec!.replicas).toBe(4);
    expect(desiredPodDisruptionBudget(fromSpec).spec).toMatchObject({ minAvailable: 3 });
    const fromFloor = md({
      model: { name: "v", source: "hf://a/b" },
      autoscaling: { minReplicas: 2, maxReplicas: 8 },
    });
    expect(desiredDeployment(fromFloor, { images }).spec!.replicas).toBe(2);
    const zero = md({ model: { name: "v", source: "hf://a/b" }, replicas: 0 });
    expect(desiredPodDisruptionBudget(zero).spec).toMatchObject({ maxUnavailable: 1 });
  });

  it("mounts each pvc:// claim once, read-only, next to /dev/shm and the cache", () => {
    const deployment = desiredDeployment(
      md({
        model: { name: "v", source: "pvc://weights/llama", tokenizer: "pvc://weights/tok" },
        adapters: [{ name: "a", source: "pvc://loras/a" }],
        cache: { size: "100Gi" },
      }),
      { images },
    );
    const pod = deployment.spec!.template.spec!;
    expect(pod.volumes).toEqual([
      { name: "dshm", emptyDir: { medium: "Memory" } },
      { name: "model-cache", persistentVolumeClaim: { claimName: "m-model-cache" } },
      { name: "source-0", persistentVolumeClaim: { claimName: "weights", readOnly: true } },
      { name: "source-1", persistentVolumeClaim: { claimName: "loras", readOnly: true } },
    ]);
    expect(pod.containers[0]!.volumeMounts).toEqual([
      { name: "dshm", mountPath: "/dev/shm" },
      { name: "model-cache", mountPath: "/models" },
      { name: "source-0", mountPath: "/mnt/pvc/weights", readOnly: true },
      { name: "source-1", mountPath: "/mnt/pvc/loras", readOnly: true },
    ]);
  });
});
