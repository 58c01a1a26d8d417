/**
 * The router discovers ModelDeployments and their endpoints from a real kube-apiserver, and the
 * gateway serves them. No operator, kubelet or EndpointSlice controller runs here, so the test does
 * their part through the API: it creates the ModelDeployment's Service and publishes EndpointSlices
 * (as the EndpointSlice controller would, with the Service's labels) pointing at engine-sim processes
 * on this machine, and flips their conditions the way pod readiness and termination would.
 *
 * The API server refuses loopback and link-local addresses in slices, so the engines listen on this
 * machine's own network address (IPv4, else IPv6).
 */
import { readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { fileURLToPath } from "node:url";
import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import {
  eventually,
  findKubeBinaries,
  type KubeApiServerHandle,
  startKubeApiServer,
  waitFor,
} from "@strata/kit/testing";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually as eventuallyValue, startTestStack, type TestStack } from "../support/local-stack.js";

const binaries = await findKubeBinaries();
if (!binaries) {
  console.warn(
    "kube-apiserver/etcd not built (run scripts/install-kube-tools.sh): skipping the Kubernetes discovery tests",
  );
}

const namespace = "models";
const model = "sim-llama";
const crdFile = fileURLToPath(new URL("../../charts/strata/crds/modeldeployment.yaml", import.meta.url));
const mdPath = `/apis/strata.dev/v1alpha1/namespaces/${namespace}/modeldeployments/${model}`;
const slicePath = (name: string) =>
  `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices/${name}`;
const routeTimeout = { timeoutMs: 30_000, intervalMs: 100 };
/** Each test waits for the router to catch up, up to 30 s per step, on a machine that may be busy. */
const testTimeout = 120_000;
const addresses = Object.values(networkInterfaces())
  .flat()
  .filter((entry) => entry !== undefined && !entry.internal && !entry.address.startsWith("fe80:"));
const hostAddress = addresses.find((entry) => entry?.family === "IPv4") ?? addresses[0];
const slice = { addressType: hostAddress?.family ?? "IPv4", address: hostAddress?.address ?? "" };

/** The few REST calls the test makes, as kubectl would: server-side apply, get, delete. */
function kubeApi(kube: KubeApiServerHandle) {
  const caData = /certificate-authority-data: (\S+)/.exec(kube.kubeconfig)?.[1] ?? "";
  const dispatcher = new Agent({ connect: { ca: Buffer.from(caData, "base64").toString() } });
  const call = async (method: "GET" | "PATCH" | "DELETE", path: string, body?: string) => {
    const response = await request(`${kube.url}${path}`, {
      method,
      dispatcher,
      headers: { authorization: `Bearer ${kube.token}`, "content-type": "application/apply-patch+yaml" },
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.body.text();
    if (response.statusCode >= 300) throw new Error(`${method} ${path}: ${response.statusCode} ${text}`);
    return JSON.parse(text) as { status?: { conditions?: { type: string; status: string }[] } };
  };
  return {
    // JSON is YAML, so objects and the CRD file both go through server-side apply.
    apply: (path: string, object: unknown) =>
      call(
        "PATCH",
        `${path}?fieldManager=strata-e2e&force=true`,
        typeof object === "string" ? object : JSON.stringify(object),
      ),
    get: (path: string) => call("GET", path),
    delete: (path: string) => call("DELETE", path),
    close: () => dispatcher.close(),
  };
}

function modelDeployment(routing: Record<string, unknown>) {
  return {
    apiVersion: "strata.dev/v1alpha1",
    kind: "ModelDeployment",
    metadata: { name: model, namespace },
    spec: {
      model: { name: model, source: "hf://strata/sim-llama" },
      engine: { kind: "sim" },
      resources: { gpu: { count: 0 } },
      replicas: 2,
      routing,
    },
  };
}

const ownedLabels = {
  "app.kubernetes.io/name": model,
  "app.kubernetes.io/managed-by": "strata-operator",
  "strata.dev/model-deployment": model,
  "strata.dev/model": model,
  "strata.dev/engine": "sim",
};

/** One engine per slice: a slice has one port list, and every engine-sim here has its own port. */
function endpointSlice(pod: string, engine: EngineSim, conditions: Record<string, boolean>) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `${model}-${pod}`,
      namespace,
      labels: { ...ownedLabels, "kubernetes.io/service-name": model },
    },
    addressType: slice.addressType,
    ports: [{ name: "http", port: engine.port, protocol: "TCP" }],
    endpoints: [
      {
        addresses: [slice.address],
        conditions,
        targetRef: { kind: "Pod", name: `${model}-${pod}`, namespace },
      },
    ],
  };
}

describe.skipIf(!binaries)("router and gateway discover ModelDeployments from the Kubernetes API", () => {
  let kube: KubeApiServerHandle;
  let api: ReturnType<typeof kubeApi>;
  let engines: Record<"a" | "b", EngineSim>;
  let stack: TestStack;

  beforeAll(async () => {
    if (!hostAddress)
      throw new Error("this machine has no non-loopback network address for EndpointSlices to point at");
    kube = await startKubeApiServer();
    api = kubeApi(kube);
    await api.apply(
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/modeldeployments.strata.dev",
      await readFile(crdFile, "utf8"),
    );
    await waitFor(
      async () => {
        const crd = await api.get(
          "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/modeldeployments.strata.dev",
        );
        return (
          crd.status?.conditions?.some((entry) => entry.type === "Established" && entry.status === "True") ??
          false
        );
      },
      { timeoutMs: 30_000, message: "the ModelDeployment CRD to be established" },
    );
    await api.apply(`/api/v1/namespaces/${namespace}`, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace },
    });
    const start = () =>
      startEngineSim({ port: 0, host: slice.address, model, logLevel: "silent", timeScale: 0 });
    engines = { a: await start(), b: await start() };
    await api.apply(
      mdPath,
      modelDeployment({
        strategy: "round-robin",
        aliases: ["llama-chat"],
        tier: "small",
        price: { inputPerMillion: 2, outputPerMillion: 4 },
      }),
    );
    await api.apply(`/api/v1/namespaces/${namespace}/services/${model}`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: model, namespace, labels: ownedLabels },
      spec: {
        selector: { "strata.dev/model-deployment": model },
        ports: [{ name: "http", port: 8000, targetPort: 8000 }],
      },
    });
    await api.apply(slicePath(`${model}-a`), endpointSlice("a", engines.a, { ready: true }));
    stack = await startTestStack(
      {
        routerHealthIntervalMs: 200,
        router: { kubernetes: { enabled: true, kubeconfig: kube.kubeconfigPath, namespace } },
      },
      { engineReplicas: 0 },
    );
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
    await Promise.all(Object.values(engines ?? {}).map((engine) => engine.close()));
    await api?.close();
    await kube?.stop();
  });

  const chat = (name: string) =>
    stack.post("/v1/chat/completions", {
      model: name,
      max_tokens: 4,
      messages: [{ role: "user", content: "Hello" }],
    });

  /** The endpoint that served one request, from the gateway's x-strata-route header. */
  async function servedBy(name: string): Promise<string> {
    const response = await chat(name);
    const body = (await response.json()) as { model?: string; error?: unknown };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.model).toBe(model);
    const route = response.headers.get("x-strata-route") ?? "";
    const endpoint = /sim-llama\/(sim-llama-[ab])/.exec(route)?.[1];
    expect(endpoint, route).toBeDefined();
    return endpoint!;
  }

  async function listedModels(): Promise<string[]> {
    const response = await fetch(`${stack.gatewayUrl}/v1/models`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    const body = (await response.json()) as { data: { id: string }[] };
    return body.data.map((entry) => entry.id);
  }

  async function successes(engine: EngineSim): Promise<number> {
    const text = await (await fetch(`${engine.url}/metrics`)).text();
    const lines = text.split("\n").filter((line) => line.startsWith("vllm:request_success_total"));
    return lines.reduce((sum, line) => sum + Number(line.split(" ").pop()), 0);
  }

  it(
    "lists the deployment's model, alias and tier in /v1/models",
    async () => {
      await eventually(async () => {
        expect(await listedModels()).toEqual(expect.arrayContaining([model, "llama-chat", "small"]));
      }, routeTimeout);
    },
    testTimeout,
  );

  it(
    "serves chat completions from the engine-sim process behind the published address",
    async () => {
      const before = await successes(engines.a);
      await eventually(async () => expect(await servedBy(model)).toBe("sim-llama-a"), routeTimeout);
      expect(await servedBy("llama-chat")).toBe("sim-llama-a");
      expect(await servedBy("small")).toBe("sim-llama-a");
      expect(await successes(engines.a)).toBeGreaterThanOrEqual(before + 3);
      expect(await successes(engines.b)).toBe(0);
    },
    testTimeout,
  );

  it(
    "routes to a second address once its slice is published, by the resource's round-robin strategy",
    async () => {
      await api.apply(slicePath(`${model}-b`), endpointSlice("b", engines.b, { ready: true }));
      await eventually(async () => expect(await servedBy(model)).toBe("sim-llama-b"), routeTimeout);
      const served = [];
      for (let index = 0; index < 6; index++) served.push(await servedBy(model));
      // Round-robin alternates between the two; least-load or kv-aware would not promise that.
      expect(served.filter((endpoint) => endpoint === "sim-llama-a")).toHaveLength(3);
      expect(served.filter((endpoint) => endpoint === "sim-llama-b")).toHaveLength(3);
      expect(await successes(engines.b)).toBeGreaterThan(0);
    },
    testTimeout,
  );

  it(
    "stops routing to an address marked not ready, and to one that is terminating",
    async () => {
      await api.apply(slicePath(`${model}-a`), endpointSlice("a", engines.a, { ready: false }));
      await expectOnly("sim-llama-b");
      await api.apply(slicePath(`${model}-a`), endpointSlice("a", engines.a, { ready: true }));
      await eventually(async () => expect(await servedBy(model)).toBe("sim-llama-a"), routeTimeout);
      await api.apply(
        slicePath(`${model}-b`),
        endpointSlice("b", engines.b, { ready: false, serving: true, terminating: true }),
      );
      await expectOnly("sim-llama-a");
    },
    testTimeout,
  );

  /** Waits until the router has caught up, then checks that a run of requests all go to `endpoint`. */
  async function expectOnly(endpoint: string): Promise<void> {
    await eventually(async () => {
      const served = [await servedBy(model), await servedBy(model)];
      expect(served).toEqual([endpoint, endpoint]);
    }, routeTimeout);
    for (let index = 0; index < 4; index++) expect(await servedBy(model)).toBe(endpoint);
  }

  it(
    "prices the deployment's requests with the price from its resource",
    async () => {
      const response = await chat(model);
      expect(response.status).toBe(200);
      const usage = (
        (await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number } }
      ).usage;
      const requestId = response.headers.get("x-request-id")!;
      const row = await eventuallyValue(async () => {
        const result = await stack.database.query(
          "SELECT cost_usd, priced_model FROM gateway.usage_ledger WHERE request_id = $1",
          [requestId],
        );
        return result.rows[0] as { cost_usd: number; priced_model: string } | undefined;
      }, 20_000);
      expect(row.priced_model).toBe(model);
      expect(row.cost_usd).toBeCloseTo(
        (usage.prompt_tokens * 2 + usage.completion_tokens * 4) / 1_000_000,
        12,
      );
    },
    testTimeout,
  );

  it(
    "follows edits of the resource's routing settings",
    async () => {
      await api.apply(mdPath, modelDeployment({ strategy: "round-robin", aliases: ["llama-next"] }));
      await eventually(async () => {
        const listed = await listedModels();
        expect(listed).toContain("llama-next");
        expect(listed).not.toContain("llama-chat");
      }, routeTimeout);
      expect(await servedBy("llama-next")).toBe("sim-llama-a");
      const gone = await chat("llama-chat");
      expect(gone.status).toBe(404);
      expect(((await gone.json()) as { error: { code: string } }).error.code).toBe("model_not_found");
    },
    testTimeout,
  );

  it(
    "drops the model from /v1/models and from routing when the ModelDeployment is deleted",
    async () => {
      await api.delete(mdPath);
      await eventually(async () => {
        const listed = await listedModels();
        expect(listed).not.toContain(model);
        expect(listed).not.toContain("llama-next");
      }, routeTimeout);
      const response = await chat(model);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("model_not_found");
    },
    testTimeout,
  );
});
