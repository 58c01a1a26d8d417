import { readdir } from "node:fs/promises";
import { KubeConfig } from "@kubernetes/client-node";
import { silentLogger } from "@strata/kit";
import { eventually, findKubeBinaries, waitFor } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient } from "../src/kube/kube-client.js";
import { resourceTypes } from "../src/kube/resource-types.js";
import { modelDeploymentCrd } from "../src/model-deployment/crd.js";
import { run } from "../src/run.js";
import { createModelDeployment, eventsFor, getModelDeployment, getObject } from "./support/fixtures.js";
import {
  examplesDir,
  expectOk,
  installServiceMonitorCrd,
  type KubeEnv,
  operatorManifest,
  startKubeEnv,
} from "./support/kube-env.js";
import { metricTotal } from "./support/operator-harness.js";

const binaries = await findKubeBinaries();
const slow = { timeoutMs: 60_000, intervalMs: 200 };

/** A valid sim ModelDeployment as YAML, with `spec` lines replaced or added by the case. */
function manifest(name: string, spec: string): string {
  return `apiVersion: strata.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: ${name}
spec:
${spec
  .trim()
  .split("\n")
  .map((line) => `  ${line}`)
  .join("\n")}
`;
}

const invalid: Array<{ what: string; name?: string; spec: string; message: string }> = [
  {
    what: "GPU count that does not match tensor parallelism",
    spec: "model: { name: m, source: hf://a/b }\nserving: { tensorParallelSize: 4 }\nresources: { gpu: { count: 2 } }",
    message: "resources.gpu.count must equal serving.tensorParallelSize",
  },
  {
    what: "replicas outside the autoscaling bounds",
    spec: "model: { name: m, source: hf://a/b }\nreplicas: 9\nautoscaling: { minReplicas: 1, maxReplicas: 4 }",
    message: "spec.replicas must lie within spec.autoscaling.minReplicas..maxReplicas",
  },
  {
    what: "minReplicas above maxReplicas",
    spec: "model: { name: m, source: hf://a/b }\nautoscaling: { minReplicas: 5, maxReplicas: 2 }",
    message: "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
  },
  {
    what: "scale to zero without saying so",
    spec: "model: { name: m, source: hf://a/b }\nautoscaling: { minReplicas: 0, maxReplicas: 2 }",
    message: "autoscaling.minReplicas 0 needs autoscaling.scaleToZero: true",
  },
  {
    what: "a cache that is both an existing claim and a size",
    spec: "model: { name: m, source: hf://a/b }\ncache: { existingClaim: weights, size: 10Gi }",
    message: "set either cache.existingClaim or cache.size",
  },
  {
    what: "TGI with an adapter from a claim",
    spec: "model: { name: m, source: hf://a/b }\nengine: { kind: tgi }\nadapters: [{ name: x, source: 'pvc://loras/x' }]",
    message: "TGI loads LoRA adapters from the hub only",
  },
  {
    what: "vLLM with a TGI-only quantization",
    spec: "model: { name: m, source: hf://a/b }\nserving: { quantization: eetq }",
    message: "vLLM takes serving.quantization awq, gptq, fp8 or bitsandbytes",
  },
  {
    what: "TGI with float32",
    spec: "model: { name: m, source: hf://a/b }\nengine: { kind: tgi }\nserving: { dtype: float32 }",
    message: "TGI takes serving.dtype float16 or bfloat16",
  },
  {
    what: "TGI with both dtype and quantization",
    spec: "model: { name: m, source: hf://a/b }\nengine: { kind: tgi }\nserving: { dtype: bfloat16, quantization: awq }",
    message: "TGI cannot combine serving.dtype with serving.quantization",
  },
  {
    what: "TGI with a separate tokenizer",
    spec: "model: { name: m, source: hf://a/b, tokenizer: hf://a/tok }\nengine: { kind: tgi }",
    message: "TGI loads the model's own tokenizer: remove spec.model.tokenizer",
  },
  {
    what: "an unknown engine",
    spec: "model: { name: m, source: hf://a/b }\nengine: { kind: sglang }",
    message: 'Unsupported value: "sglang": supported values: "vllm", "tgi", "sim"',
  },
  {
    what: "a source that is neither hf:// nor pvc://",
    spec: "model: { name: m, source: 's3://bucket/model' }",
    message: "spec.model.source: Invalid value",
  },
  {
    what: "a missing model",
    spec: "engine: { kind: sim }",
    message: "spec.model: Required value",
  },
  {
    what: "a name that cannot name a Service",
    name: "7b-model",
    spec: "model: { name: m, source: hf://a/b }",
    message: "metadata.name must be a DNS-1035 label",
  },
];

describe.skipIf(!binaries)("the ModelDeployment CRD on a real kube-apiserver", () => {
  let env: KubeEnv;
  let namespace: string;

  beforeAll(async () => {
    env = await startKubeEnv();
    namespace = await env.namespace("crd");
  }, 180_000);

  afterAll(async () => env?.stop(), 60_000);

  it("is established, documented for kubectl explain, and printed with its columns", async () => {
    // The API server publishes a new CRD's OpenAPI schema a moment after it is established.
    await eventually(
      async () => {
        const explained = await expectOk(env.kubectl(["explain", "md.spec.serving.prefixCaching"]));
        expect(explained).toContain("KIND:       ModelDeployment");
        expect(explained).toContain("Keep KV blocks of shared prompt prefixes");
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const cache = await expectOk(env.kubectl(["explain", "modeldeployment.spec.cache.reclaimPolicy"]));
    expect(cache).toContain("Retain keeps the downloaded weights");
    await expectOk(
      env.kubectl(
        ["apply", "-n", namespace, "-f", "-"],
        manifest("printed", "model: { name: printed-model, source: hf://a/b }\nengine: { kind: sim }"),
      ),
    );
    const printed = await expectOk(env.kubectl(["get", "md", "-n", namespace]));
    expect(printed).toMatch(/^NAME\s+MODEL\s+ENGINE\s+READY\s+AVAILABLE\s+AGE$/m);
    expect(printed).toMatch(/^printed\s+printed-model\s+sim\s+/m);
    // Defaults are filled in by the API server, so the operator and `kubectl get -o yaml` agree.
    const stored = JSON.parse(
      await expectOk(env.kubectl(["get", "md", "printed", "-n", namespace, "-o", "json"])),
    );
    expect(stored.spec.serving).toBeUndefined();
    expect(stored.spec.resources).toEqual({ gpu: { count: 1, resourceName: "nvidia.com/gpu" } });
    // The generated manifest reads back as exactly the schema it was generated from.
    const crd = JSON.parse(
      await expectOk(env.kubectl(["get", "crd", "modeldeployments.strata.dev", "-o", "json"])),
    );
    expect(crd.spec.versions).toEqual(modelDeploymentCrd.spec.versions);
  }, 120_000);

  it.each(invalid)(
    "refuses $what with a message that says what to fix",
    async ({ name, spec, message }) => {
      const result = await env.kubectl(["apply", "-n", namespace, "-f", "-"], manifest(name ?? "bad", spec));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(message);
    },
    60_000,
  );

  it("refuses changes to fields that cannot change safely", async () => {
    await expectOk(
      env.kubectl(
        ["apply", "-n", namespace, "-f", "-"],
        manifest("fixed", "model: { name: fixed, source: hf://a/b }\nengine: { kind: vllm }"),
      ),
    );
    const renamed = await env.kubectl(
      ["apply", "-n", namespace, "-f", "-"],
      manifest("fixed", "model: { name: other, source: hf://a/b }\nengine: { kind: vllm }"),
    );
    expect(renamed.stderr).toContain("spec.model.name is immutable");
    const switched = await env.kubectl(
      ["apply", "-n", namespace, "-f", "-"],
      manifest("fixed", "model: { name: fixed, source: hf://a/b }\nengine: { kind: tgi }"),
    );
    expect(switched.stderr).toContain("spec.engine.kind is immutable");
    // A change that is safe goes through.
    await expectOk(
      env.kubectl(
        ["apply", "-n", namespace, "-f", "-"],
        manifest("fixed", "model: { name: fixed, source: hf://a/b, revision: v2 }\nengine: { kind: vllm }"),
      ),
    );
  }, 60_000);

  it("accepts every example in deploy/examples", async () => {
    const files = (await readdir(examplesDir)).filter((file) => file.endsWith(".yaml"));
    expect(files.sort()).toEqual([
      "modeldeployment-sim.yaml",
      "modeldeployment-tgi.yaml",
      "modeldeployment-vllm.yaml",
    ]);
    const applied = await expectOk(env.kubectl(["apply", "-n", namespace, "-f", examplesDir]));
    expect(applied).toContain("modeldeployment.strata.dev/sim-llama created");
    expect(applied).toContain("modeldeployment.strata.dev/llama-3-1-8b created");
    expect(applied).toContain("modeldeployment.strata.dev/mistral-7b-tgi created");
  }, 60_000);

  it("runs with no more than the RBAC in deploy/operator/operator.yaml", async () => {
    await expectOk(env.kubectl(["apply", "-f", operatorManifest]));
    await installServiceMonitorCrd(env);
    const watched = await env.namespace("rbac");
    // Every request of this operator is made as the service account the manifest binds.
    const account = "system:serviceaccount:strata-system:strata-operator";
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: env.kubeConfig.clusters,
      contexts: env.kubeConfig.contexts,
      currentContext: env.kubeConfig.currentContext,
      users: env.kubeConfig.users.map((user) => ({ ...user, impersonateUser: account })),
    });
    // Impersonation is in effect: the account may not read what the manifest does not grant.
    await expect(
      new KubeClient(kubeConfig).list({ apiVersion: "v1", kind: "Secret", plural: "secrets" }, watched),
    ).rejects.toMatchObject({ statusCode: 403 });
    const operator = await run(
      {
        namespace: watched,
        ops: { host: "127.0.0.1", port: 0 },
        discoverySeconds: 1,
        autoscaling: { syncSeconds: 0.5 },
        leaderElection: { namespace: "strata-system", identity: "rbac-test", retryPeriodSeconds: 0.5 },
      },
      { kubeConfig, logger: silentLogger() },
    );
    try {
      await createModelDeployment(env.client, watched, "rbac", {
        model: { name: "rbac-model", source: "hf://acme/rbac" },
        cache: { size: "10Gi", reclaimPolicy: "Delete" },
      });
      // Idle with scaleToZero and no delay: the autoscaler writes 0 through the scale subresource.
      await createModelDeployment(env.client, watched, "rbac-idle", {
        model: { name: "rbac-idle", source: "hf://acme/rbac" },
        engine: { kind: "sim" },
        replicas: 1,
        autoscaling: { minReplicas: 1, maxReplicas: 2, scaleToZero: true, scaleDownDelaySeconds: 0 },
      });
      await eventually(async () => {
        const md = await getModelDeployment(env.client, watched, "rbac");
        expect(md?.metadata.finalizers).toEqual(["strata.dev/model-cache"]);
        expect(md?.status?.conditions?.map((condition) => condition.type)).toEqual([
          "Available",
          "Progressing",
          "Degraded",
        ]);
        expect(await getObject(env.client, "serviceMonitor", watched, "rbac")).toBeDefined();
        expect(await getObject(env.client, "podDisruptionBudget", watched, "rbac")).toBeDefined();
        expect(await eventsFor(env.client, watched, "rbac")).not.toEqual([]);
        expect((await getModelDeployment(env.client, watched, "rbac-idle"))?.spec.replicas).toBe(0);
      }, slow);
      await env.client.delete(resourceTypes.modelDeployment, watched, "rbac");
      await waitFor(async () => (await getModelDeployment(env.client, watched, "rbac")) === undefined, slow);
      expect(await metricTotal(operator, "strata_operator_kube_requests_total", { code: "403" })).toBe(0);
      const lease = await getObject(env.client, "lease", "strata-system", "strata-operator");
      expect(lease?.spec.holderIdentity).toBe("rbac-test");
    } finally {
      await operator.close();
    }
  }, 180_000);
});

it.skipIf(binaries !== undefined)(
  "CRD tests need kube-apiserver and etcd: run scripts/install-kube-tools.sh",
  () => {},
);
