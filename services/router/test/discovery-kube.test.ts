/**
 * Discovery against a real kube-apiserver, through the router's own run(): start-up before the CRD
 * exists, recovery once it does, and readiness. No kubelet or EndpointSlice controller runs, so the
 * test publishes the EndpointSlices itself. The API server refuses loopback addresses in slices, so the
 * engine listens on this machine's network address.
 */
import { readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { fileURLToPath } from "node:url";
import { KubeConfig, type KubernetesObject, KubernetesObjectApi, loadYaml } from "@kubernetes/client-node";
import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { createGrpcClient, createLogger } from "@strata/kit";
import {
  eventually,
  findKubeBinaries,
  type KubeApiServerHandle,
  startKubeApiServer,
} from "@strata/kit/testing";
import { routerV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRouter, run } from "../src/index.js";

const binaries = await findKubeBinaries();
if (!binaries)
  console.warn("kube-apiserver/etcd not built (run scripts/install-kube-tools.sh): skipping discovery tests");

const crdFile = fileURLToPath(new URL("../../../charts/strata/crds/modeldeployment.yaml", import.meta.url));
const hostAddress = Object.values(networkInterfaces())
  .flat()
  .filter((entry) => entry !== undefined && !entry.internal && !entry.address.startsWith("fe80:"))
  .sort((a, b) => (a!.family === "IPv4" ? 0 : 1) - (b!.family === "IPv4" ? 0 : 1))[0];

const host = () => (hostAddress?.family === "IPv6" ? `[${hostAddress.address}]` : hostAddress?.address);

describe.skipIf(!binaries)("Kubernetes discovery in the router", () => {
  let kube: KubeApiServerHandle;
  let objects: KubernetesObjectApi;
  let engine: EngineSim;
  let router: RunningRouter | undefined;
  const logs: { msg: string; level: number }[] = [];

  beforeAll(async () => {
    if (!hostAddress) throw new Error("this machine has no non-loopback network address for EndpointSlices");
    kube = await startKubeApiServer();
    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromString(kube.kubeconfig);
    objects = KubernetesObjectApi.makeApiClient(kubeconfig);
    engine = await startEngineSim({
      host: hostAddress.address,
      port: 0,
      model: "m",
      logLevel: "silent",
      timeScale: 0,
    });
  }, 120_000);

  afterAll(async () => {
    await router?.close();
    await engine?.close();
    await kube?.stop();
  });

  const apply = (object: KubernetesObject) =>
    objects.patch(object, undefined, undefined, "discovery-test", true, "application/apply-patch+yaml");

  it("starts before the CRD exists, says what is missing, and discovers once it is installed", async () => {
    const destination = { write: (line: string) => logs.push(JSON.parse(line)) };
    router = await run(
      {
        grpc: { host: "127.0.0.1", port: 0 },
        ops: { port: 0 },
        health: { intervalMs: 200 },
        kubernetes: {
          enabled: true,
          kubeconfig: kube.kubeconfigPath,
          namespace: "default",
          initialSyncTimeoutMs: 500,
        },
        logLevel: "warn",
      },
      { logger: createLogger({ service: "router", level: "warn", destination }) },
    );
    const readiness = () =>
      fetch(`http://127.0.0.1:${router!.opsPort}/readyz`).then((response) => response.status);
    expect(await readiness()).toBe(503);
    expect(logs.map((entry) => entry.msg)).toContainEqual(
      expect.stringMatching(/^cannot watch modeldeployments\.strata\.dev: .*is the CRD installed/),
    );

    await apply(loadYaml<KubernetesObject>(await readFile(crdFile, "utf8")));
    await eventually(async () => expect(await readiness()).toBe(200), { timeoutMs: 60_000, intervalMs: 200 });

    await apply({
      apiVersion: "strata.dev/v1alpha1",
      kind: "ModelDeployment",
      metadata: { name: "m", namespace: "default" },
      spec: {
        model: { name: "m", source: "hf://org/m" },
        engine: { kind: "sim" },
        routing: { aliases: ["m-alias"] },
      },
    } as KubernetesObject);
    await apply({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "m-1",
        namespace: "default",
        labels: { "kubernetes.io/service-name": "m", "strata.dev/model-deployment": "m" },
      },
      addressType: hostAddress!.family,
      ports: [{ name: "http", port: engine.port, protocol: "TCP" }],
      endpoints: [
        {
          addresses: [hostAddress!.address],
          conditions: { ready: true },
          targetRef: { kind: "Pod", name: "m-1" },
        },
      ],
    } as KubernetesObject);

    const client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${router.grpcPort}`);
    try {
      await eventually(
        async () => {
          const { models } = await client.listModels({});
          expect(
            models.map(({ id, endpoints, healthyEndpoints, aliasOf }) => ({
              id,
              endpoints,
              healthyEndpoints,
              aliasOf,
            })),
          ).toEqual([
            { id: "m", endpoints: 1, healthyEndpoints: 1, aliasOf: "" },
            { id: "m-alias", endpoints: 1, healthyEndpoints: 1, aliasOf: "m" },
          ]);
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const routed = await client.route({
        requestId: "r1",
        model: "m-alias",
        tenantId: "t",
        prompt: "hi",
        promptTokens: 1,
      });
      expect(routed.endpoint).toMatchObject({
        id: "default/m/m-1",
        url: `http://${host()}:${engine.port}`,
        servedModel: "m",
      });
    } finally {
      client.close();
    }
  }, 120_000);

  it("counts discovered endpoints and watch failures in its metrics", async () => {
    const text = await (await fetch(`http://127.0.0.1:${router!.opsPort}/metrics`)).text();
    expect(text).toMatch(/^strata_router_discovered_endpoints\{[^}]*\} 1$/m);
    expect(text).toMatch(/^strata_router_discovered_models\{[^}]*\} 1$/m);
    expect(text).toMatch(/^strata_router_discovery_synced\{[^}]*\} 1$/m);
    expect(text).toMatch(
      /^strata_router_discovery_watch_errors_total\{[^}]*resource="modeldeployments\.strata\.dev"[^}]*\} [1-9]/m,
    );
  });
});
