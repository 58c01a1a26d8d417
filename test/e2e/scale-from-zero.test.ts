/**
 * Scale from zero, end to end: a ModelDeployment at zero replicas, a chat completion arrives at the
 * gateway, the router marks demand on the resource, the operator (in this process) scales it to one,
 * and the held request is served once the replica is up. No kubelet runs next to the test API server,
 * so the test plays it: when the operator has asked for a replica, it starts engine-sim and publishes
 * its address in the Service's EndpointSlice (with the Service's labels, as the EndpointSlice
 * controller would). The API server refuses loopback addresses in slices, so the engine listens on
 * this machine's own network address.
 */
import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { silentLogger } from "@strata/kit";
import { findKubeBinaries, type KubeApiServerHandle, startKubeApiServer, waitFor } from "@strata/kit/testing";
import {
  demandAnnotation,
  KubeClient,
  type KubeObject,
  type ModelDeployment,
  type RunningOperator,
  resourceTypes,
  run as runOperator,
} from "@strata/operator";
import { hostIPv4Address, installModelDeploymentCrd } from "@strata/operator/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/local-stack.js";

const binaries = await findKubeBinaries();
if (!binaries) {
  console.warn(
    "kube-apiserver/etcd not built (run scripts/install-kube-tools.sh): skipping the scale-from-zero test",
  );
}

const model = "sleepy-llama";
const slow = { timeoutMs: 90_000, intervalMs: 200 };
const hostAddress = hostIPv4Address();

describe.skipIf(!binaries)("a request for a model scaled to zero", () => {
  let kube: KubeApiServerHandle;
  let client: KubeClient;
  let namespace: string;
  let operator: RunningOperator;
  let stack: TestStack;
  let engine: EngineSim | undefined;

  beforeAll(async () => {
    if (!hostAddress) throw new Error("this test needs a non-loopback IPv4 address for an EndpointSlice");
    kube = await startKubeApiServer();
    client = KubeClient.fromKubeconfig(kube.kubeconfig, { fieldManager: "strata-e2e" });
    await installModelDeploymentCrd(kube);
    namespace = "sleepy";
    await client.create({ apiVersion: "v1", kind: "Namespace", plural: "namespaces" }, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace },
    } as KubeObject);
    operator = await runOperator(
      {
        namespace,
        ops: { host: "127.0.0.1", port: 0 },
        leaderElection: { enabled: false },
        autoscaling: { syncSeconds: 0.25 },
      },
      { kubeConfig: client.kubeConfig, logger: silentLogger() },
    );
    stack = await startTestStack(
      {
        routerHealthIntervalMs: 200,
        router: { kubernetes: { enabled: true, kubeconfig: kube.kubeconfigPath, namespace } },
        gateway: { providers: { engine: { scaleFromZeroWaitMs: 120_000 } } },
      },
      { engineReplicas: 0 },
    );
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
    await engine?.close();
    await operator?.close();
    client?.close();
    await kube?.stop();
  }, 60_000);

  const getMd = () => client.get<ModelDeployment>(resourceTypes.modelDeployment, namespace, model);

  it("is held while the operator scales it up, then served", async () => {
    await client.create(resourceTypes.modelDeployment, {
      apiVersion: "strata.dev/v1alpha1",
      kind: "ModelDeployment",
      metadata: { name: model, namespace },
      spec: {
        model: { name: model, source: "hf://strata/sleepy-llama" },
        engine: { kind: "sim" },
        replicas: 0,
        autoscaling: { minReplicas: 1, maxReplicas: 2, scaleToZero: true, scaleDownDelaySeconds: 600 },
      },
    } as ModelDeployment);
    // The operator has reconciled it at zero and the router knows the model.
    const available = async () => (await getMd())?.status?.conditions?.find((c) => c.type === "Available");
    await waitFor(async () => (await available())?.reason === "ScaledToZero", {
      ...slow,
      message: "the ModelDeployment to report ScaledToZero",
    });
    await waitFor(
      async () => {
        const response = await fetch(`${stack.gatewayUrl}/v1/models`, {
          headers: { authorization: `Bearer ${stack.apiKey}` },
        });
        const listed = (await response.json()) as { data: Array<{ id: string }> };
        return listed.data.some((entry) => entry.id === model);
      },
      { ...slow, message: "the gateway to list the model" },
    );

    const answer = stack.post("/v1/chat/completions", {
      model,
      max_tokens: 8,
      messages: [{ role: "user", content: "Are you awake?" }],
    });

    // Playing kubelet: once the operator asks for a replica, one starts and becomes ready.
    await waitFor(
      async () => {
        const deployment = await client.get<KubeObject & { spec: { replicas: number } }>(
          resourceTypes.deployment,
          namespace,
          model,
        );
        return deployment?.spec.replicas === 1;
      },
      { ...slow, message: "the operator to scale the Deployment to one replica" },
    );
    const md = await getMd();
    expect(md?.spec.replicas).toBe(1);
    expect(md?.metadata.annotations?.[demandAnnotation]).toMatch(/^\d{4}-\d\d-\d\dT/);
    engine = await startEngineSim({ host: hostAddress, port: 0, model, logLevel: "silent", timeScale: 0 });
    await publishReadyEndpoint(client, namespace, engine);

    const response = await answer;
    const body = (await response.json()) as { model?: string; choices?: unknown[]; error?: unknown };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.model).toBe(model);
    expect(body.choices).toHaveLength(1);
    expect(response.headers.get("x-strata-route")).toContain(`${namespace}/${model}/${model}-0`);

    const events = await client.list<KubeObject & { reason?: string; involvedObject?: { name?: string } }>(
      resourceTypes.event,
      namespace,
    );
    const reasons = events.items.filter((e) => e.involvedObject?.name === model).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(["ScaledFromZero", "Scaled"]));
  }, 240_000);
});

/** What the EndpointSlice controller would publish for the Service once the pod is ready. */
async function publishReadyEndpoint(client: KubeClient, namespace: string, engine: EngineSim) {
  const service = await client.get(resourceTypes.service, namespace, model);
  if (!service) throw new Error(`the operator created no Service ${model}`);
  await client.create(resourceTypes.endpointSlice, {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `${model}-ready`,
      namespace,
      labels: { ...service.metadata.labels, "kubernetes.io/service-name": model },
    },
    addressType: "IPv4",
    ports: [{ name: "http", port: engine.port, protocol: "TCP" }],
    endpoints: [
      {
        addresses: [hostAddress],
        conditions: { ready: true },
        targetRef: { kind: "Pod", name: `${model}-0`, namespace },
      },
    ],
  } as KubeObject);
}
