import { eventually, findKubeBinaries, waitFor } from "@strata/kit/testing";
import { describe, expect, it } from "vitest";
import { resourceTypes } from "../src/kube/resource-types.js";
import {
  createModelDeployment,
  eventsFor,
  getModelDeployment,
  getObject,
  waitForObject,
} from "./support/fixtures.js";
import { expectOk, installServiceMonitorCrd } from "./support/kube-env.js";
import { metricTotal, useOperatorSuite } from "./support/operator-harness.js";

const binaries = await findKubeBinaries();
// The API server runs on a shared, loaded machine: waits are generous, assertions exact.
const slow = { timeoutMs: 60_000, intervalMs: 200 };

describe.skipIf(!binaries)("operator against a real kube-apiserver", () => {
  const kube = useOperatorSuite("reconcile", { discoverySeconds: 1 });
  const deploymentOf = (name: string) => waitForObject(kube.client, "deployment", kube.namespace, name, slow);

  it("turns a vLLM ModelDeployment into an engine Deployment, Service and PDB it owns", async () => {
    const md = await createModelDeployment(kube.client, kube.namespace, "llama", {
      model: {
        name: "meta-llama/Llama-3.1-70B-Instruct",
        source: "hf://meta-llama/Llama-3.1-70B-Instruct",
        revision: "main",
        tokenizer: "hf://meta-llama/Llama-3.1-70B-Instruct",
      },
      engine: {
        kind: "vllm",
        args: ["--max-num-seqs", "64"],
        env: [{ name: "VLLM_LOGGING_LEVEL", value: "DEBUG" }],
      },
      serving: { maxModelLen: 32768, gpuMemoryUtilization: 0.92, quantization: "fp8", tensorParallelSize: 2 },
      adapters: [{ name: "sql", source: "hf://acme/llama-sql-lora" }],
      resources: { gpu: { count: 2, type: "NVIDIA-H100-80GB-HBM3" }, cpu: "8", memory: "64Gi" },
      nodeSelector: { pool: "gpu" },
      cache: { existingClaim: "weights" },
      hubTokenSecretRef: { name: "hf-token" },
      replicas: 1,
    });
    const deployment = await deploymentOf("llama");
    const owner = {
      apiVersion: "strata.dev/v1alpha1",
      kind: "ModelDeployment",
      name: "llama",
      uid: md.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    expect(deployment.metadata.ownerReferences).toEqual([owner]);
    expect(deployment.metadata.labels).toMatchObject({
      "app.kubernetes.io/name": "vllm",
      "app.kubernetes.io/managed-by": "strata-operator",
      "strata.dev/model-deployment": "llama",
      "strata.dev/model": "meta-llama.Llama-3.1-70B-Instruct",
      "strata.dev/engine": "vllm",
    });
    expect(deployment.metadata.annotations?.["strata.dev/model-name"]).toBe(
      "meta-llama/Llama-3.1-70B-Instruct",
    );
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(container.command).toEqual(["vllm", "serve"]);
    expect(container.args).toEqual([
      "meta-llama/Llama-3.1-70B-Instruct",
      "--served-model-name",
      "meta-llama/Llama-3.1-70B-Instruct",
      "--host",
      "0.0.0.0",
      "--port",
      "8000",
      "--enable-prefix-caching",
      "--tensor-parallel-size",
      "2",
      "--max-model-len",
      "32768",
      "--gpu-memory-utilization",
      "0.92",
      "--quantization",
      "fp8",
      "--revision",
      "main",
      "--tokenizer",
      "meta-llama/Llama-3.1-70B-Instruct",
      "--enable-lora",
      "--max-loras",
      "1",
      "--lora-modules",
      "sql=acme/llama-sql-lora",
      "--max-num-seqs",
      "64",
    ]);
    const secretRef = { secretKeyRef: { name: "hf-token", key: "token" } };
    expect(container.env).toEqual([
      { name: "HF_HOME", value: "/models" },
      { name: "HF_TOKEN", valueFrom: secretRef },
      { name: "HUGGING_FACE_HUB_TOKEN", valueFrom: secretRef },
      { name: "VLLM_LOGGING_LEVEL", value: "DEBUG" },
    ]);
    expect(container.resources).toEqual({
      limits: { "nvidia.com/gpu": "2", memory: "64Gi" },
      requests: { cpu: "8", memory: "64Gi" },
    });
    expect(container.ports).toEqual([{ name: "http", containerPort: 8000, protocol: "TCP" }]);
    expect(container.startupProbe).toMatchObject({
      httpGet: { path: "/health", port: "http" },
      periodSeconds: 10,
      failureThreshold: 180,
    });
    expect(container.readinessProbe).toMatchObject({
      httpGet: { path: "/health", port: "http" },
      periodSeconds: 5,
    });
    expect(container.livenessProbe).toMatchObject({
      httpGet: { path: "/health", port: "http" },
      periodSeconds: 10,
    });
    expect(pod.volumes).toEqual([
      { name: "dshm", emptyDir: { medium: "Memory" } },
      { name: "model-cache", persistentVolumeClaim: { claimName: "weights" } },
    ]);
    expect(container.volumeMounts).toEqual([
      { name: "dshm", mountPath: "/dev/shm" },
      { name: "model-cache", mountPath: "/models" },
    ]);
    expect(pod.nodeSelector).toEqual({ "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", pool: "gpu" });
    expect(pod.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(pod.enableServiceLinks).toBe(false);
    expect(deployment.spec.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });

    const service = await getObject(kube.client, "service", kube.namespace, "llama");
    expect(service?.metadata.ownerReferences).toEqual([owner]);
    expect(service?.spec.selector).toEqual({
      "app.kubernetes.io/managed-by": "strata-operator",
      "strata.dev/model-deployment": "llama",
    });
    expect(service?.spec.ports).toEqual([
      { name: "http", port: 8000, targetPort: "http", protocol: "TCP", appProtocol: "http" },
    ]);
    await eventually(async () => {
      const budget = await getObject(kube.client, "podDisruptionBudget", kube.namespace, "llama");
      expect(budget?.metadata.ownerReferences).toEqual([owner]);
      expect(budget?.spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: "AlwaysAllow" });
    }, slow);
    // No Prometheus Operator in this cluster (yet): no ServiceMonitor.
    expect(await kube.client.discover("/apis/monitoring.coreos.com/v1")).toBeUndefined();

    const described = await expectOk(kube.kubectl(["describe", "md", "llama", "-n", kube.namespace]));
    expect(described).toContain("DeploymentCreated");
    expect(described).toContain(
      "created Deployment llama: vllm serving meta-llama/Llama-3.1-70B-Instruct, 1 replicas",
    );
  }, 120_000);

  it("rolls out spec changes, scales, and writes nothing when nothing changed", async () => {
    await createModelDeployment(kube.client, kube.namespace, "roll", {
      model: { name: "roll-model", source: "hf://acme/roll" },
      engine: { kind: "sim" },
      replicas: 1,
    });
    const first = await deploymentOf("roll");
    await eventually(async () => {
      const md = await getModelDeployment(kube.client, kube.namespace, "roll");
      expect(md?.status?.observedGeneration).toBe(1);
    }, slow);
    const versions = async () => {
      const read = (kind: "deployment" | "service" | "podDisruptionBudget" | "modelDeployment") =>
        getObject(kube.client, kind, kube.namespace, "roll").then(
          (object) => object?.metadata.resourceVersion,
        );
      return {
        deployment: await read("deployment"),
        service: await read("service"),
        budget: await read("podDisruptionBudget"),
        md: await read("modelDeployment"),
        events: (await eventsFor(kube.client, kube.namespace, "roll")).length,
      };
    };
    // Reconcile twice more with nothing changed: not one object may be written.
    const before = await versions();
    for (let round = 0; round < 2; round++) {
      const reconciles = await metricTotal(kube.operator, "strata_operator_reconcile_total", {
        result: "success",
      });
      kube.operator.resyncAll();
      await waitFor(
        async () =>
          (await metricTotal(kube.operator, "strata_operator_reconcile_total", { result: "success" })) >
          reconciles,
        { ...slow, message: "a resync reconcile" },
      );
    }
    expect(await versions()).toEqual(before);

    // A spec change rolls out: the pod template changes and the Deployment's generation moves on.
    await kube.client.mergePatch(resourceTypes.modelDeployment, kube.namespace, "roll", {
      spec: { serving: { maxModelLen: 65536, prefixCaching: false } },
    });
    await eventually(async () => {
      const deployment = await getObject(kube.client, "deployment", kube.namespace, "roll");
      expect(deployment?.metadata.generation).toBeGreaterThan(first.metadata.generation ?? 0);
      expect(deployment?.spec.template.spec.containers[0].args).toEqual([
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        "--model",
        "roll-model",
        "--api",
        "vllm",
        "--max-model-len",
        "65536",
        "--kv-capacity-blocks",
        "4096",
        "--no-enable-prefix-caching",
      ]);
    }, slow);

    // The scale subresource (what an HPA or the autoscaler uses) drives the Deployment and the PDB.
    await expectOk(kube.kubectl(["scale", "md/roll", "--replicas=3", "-n", kube.namespace]));
    await eventually(async () => {
      const deployment = await getObject(kube.client, "deployment", kube.namespace, "roll");
      const budget = await getObject(kube.client, "podDisruptionBudget", kube.namespace, "roll");
      expect(deployment?.spec.replicas).toBe(3);
      expect(budget?.spec.minAvailable).toBe(2);
      expect(budget?.spec.maxUnavailable).toBeUndefined();
    }, slow);
    await eventually(async () => {
      const reasons = (await eventsFor(kube.client, kube.namespace, "roll")).map((event) => [
        event.reason,
        event.message,
      ]);
      expect(reasons).toContainEqual(["RollingUpdate", expect.stringContaining("engine spec changed")]);
      expect(reasons).toContainEqual(["Scaled", "scaled Deployment roll from 1 to 3 replicas"]);
    }, slow);

    // Someone else's field (kubectl rollout restart's annotation) survives; a field the operator owns,
    // changed behind its back, is taken back and the conflict is reported.
    await expectOk(kube.kubectl(["rollout", "restart", "deployment/roll", "-n", kube.namespace]));
    await expectOk(kube.kubectl(["scale", "deployment/roll", "--replicas=7", "-n", kube.namespace]));
    await eventually(async () => {
      const deployment = await getObject(kube.client, "deployment", kube.namespace, "roll");
      expect(deployment?.spec.replicas).toBe(3);
      expect(deployment?.spec.template.metadata.annotations).toHaveProperty(
        "kubectl.kubernetes.io/restartedAt",
      );
    }, slow);
    await eventually(async () => {
      const reasons = (await eventsFor(kube.client, kube.namespace, "roll")).map((event) => event.reason);
      expect(reasons).toContain("FieldConflict");
    }, slow);
  }, 180_000);

  it("refuses to take over an object with a child's name that it does not own", async () => {
    await kube.client.create(resourceTypes.service, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "taken", namespace: kube.namespace },
      spec: { ports: [{ name: "web", port: 80 }] },
    } as never);
    await createModelDeployment(kube.client, kube.namespace, "taken", {
      model: { name: "taken-model", source: "hf://acme/taken" },
      engine: { kind: "sim" },
    });
    await eventually(async () => {
      const md = await getModelDeployment(kube.client, kube.namespace, "taken");
      const degraded = md?.status?.conditions?.find((entry) => entry.type === "Degraded");
      expect(degraded).toMatchObject({
        status: "True",
        reason: "ReconcileError",
        message: `Service ${kube.namespace}/taken already exists and is not managed by this ModelDeployment: delete or rename it, or give the ModelDeployment another name`,
      });
    }, slow);
    const service = await getObject(kube.client, "service", kube.namespace, "taken");
    expect(service?.metadata.ownerReferences).toBeUndefined();
    expect(service?.spec.ports).toMatchObject([{ name: "web", port: 80 }]);
    expect(
      await metricTotal(kube.operator, "strata_operator_reconcile_errors_total", {
        reason: "ChildConflictError",
      }),
    ).toBeGreaterThan(0);
  }, 120_000);

  it("deletes a cache claim it created under reclaimPolicy Delete through its finalizer, and keeps it under Retain", async () => {
    const md = await createModelDeployment(kube.client, kube.namespace, "cached", {
      model: { name: "cached-model", source: "hf://acme/cached" },
      cache: { size: "20Gi", storageClassName: "fast", reclaimPolicy: "Delete" },
    });
    const deployment = await deploymentOf("cached");
    expect(deployment.spec.template.spec.volumes).toContainEqual({
      name: "model-cache",
      persistentVolumeClaim: { claimName: "cached-model-cache" },
    });
    const claim = await getObject(kube.client, "persistentVolumeClaim", kube.namespace, "cached-model-cache");
    expect(claim?.metadata.ownerReferences).toBeUndefined();
    expect(claim?.metadata.labels?.["strata.dev/model-deployment"]).toBe("cached");
    expect(claim?.spec).toMatchObject({
      accessModes: ["ReadWriteOnce"],
      storageClassName: "fast",
      resources: { requests: { storage: "20Gi" } },
    });
    await eventually(async () => {
      const current = await getModelDeployment(kube.client, kube.namespace, "cached");
      expect(current?.metadata.finalizers).toEqual(["strata.dev/model-cache"]);
    }, slow);

    await kube.client.delete(resourceTypes.modelDeployment, kube.namespace, "cached");
    await waitFor(
      async () => (await getModelDeployment(kube.client, kube.namespace, "cached")) === undefined,
      {
        ...slow,
        message: "the ModelDeployment to be released by its finalizer",
      },
    );
    // No PVC-protection controller runs here, so the claim waits in Terminating rather than vanishing.
    const deleted = await getObject(
      kube.client,
      "persistentVolumeClaim",
      kube.namespace,
      "cached-model-cache",
    );
    expect(deleted === undefined || deleted.metadata.deletionTimestamp !== undefined).toBe(true);
    const reasons = (await eventsFor(kube.client, kube.namespace, "cached")).map((event) => [
      event.reason,
      event.message,
    ]);
    expect(reasons).toContainEqual([
      "ModelCacheDeleted",
      "deleted PersistentVolumeClaim cached-model-cache (reclaimPolicy Delete)",
    ]);
    // The owned children carry the owner reference the garbage collector deletes them by.
    expect(deployment.metadata.ownerReferences?.[0]).toMatchObject({
      uid: md.metadata.uid,
      controller: true,
    });

    await createModelDeployment(kube.client, kube.namespace, "kept", {
      model: { name: "kept-model", source: "hf://acme/kept" },
      cache: { size: "20Gi" },
    });
    await deploymentOf("kept");
    await eventually(async () => {
      expect(
        await getObject(kube.client, "persistentVolumeClaim", kube.namespace, "kept-model-cache"),
      ).toBeDefined();
    }, slow);
    const kept = await getModelDeployment(kube.client, kube.namespace, "kept");
    expect(kept?.metadata.finalizers ?? []).toEqual([]);
    await kube.client.delete(resourceTypes.modelDeployment, kube.namespace, "kept");
    await waitFor(
      async () => (await getModelDeployment(kube.client, kube.namespace, "kept")) === undefined,
      slow,
    );
    const retained = await getObject(
      kube.client,
      "persistentVolumeClaim",
      kube.namespace,
      "kept-model-cache",
    );
    expect(retained?.metadata.deletionTimestamp).toBeUndefined();
  }, 180_000);

  // Installs a cluster-wide CRD, so it runs last in this file.
  it("adds a ServiceMonitor once the cluster serves them, and not before", async () => {
    await createModelDeployment(kube.client, kube.namespace, "scraped", {
      model: { name: "scraped-model", source: "hf://acme/scraped" },
      engine: { kind: "sim" },
    });
    const deployment = await deploymentOf("scraped");
    expect(await getObject(kube.client, "deployment", kube.namespace, "scraped")).toBeDefined();
    await installServiceMonitorCrd(kube);
    await eventually(async () => {
      const monitor = await getObject(kube.client, "serviceMonitor", kube.namespace, "scraped");
      expect(monitor?.metadata.ownerReferences?.[0]).toMatchObject({
        kind: "ModelDeployment",
        name: "scraped",
      });
      expect(monitor?.spec).toEqual({
        selector: {
          matchLabels: {
            "app.kubernetes.io/managed-by": "strata-operator",
            "strata.dev/model-deployment": "scraped",
          },
        },
        endpoints: [{ port: "http", path: "/metrics", interval: "15s" }],
      });
    }, slow);
    // Every ModelDeployment gets one, not only those reconciled after the CRD appeared.
    await eventually(async () => {
      expect(await getObject(kube.client, "serviceMonitor", kube.namespace, "llama")).toBeDefined();
    }, slow);
    expect(deployment.metadata.name).toBe("scraped");
  }, 120_000);
});

it.skipIf(binaries !== undefined)(
  "operator tests need kube-apiserver and etcd: run scripts/install-kube-tools.sh",
  () => {},
);
