import { waitFor } from "@strata/kit/testing";
import type { KubeClient } from "../../src/kube/kube-client.js";
import type { KubeObject } from "../../src/kube/kube-object.js";
import { resourceTypes } from "../../src/kube/resource-types.js";
import { selectorLabels } from "../../src/model-deployment/labels.js";
import type { ModelDeployment, ModelDeploymentSpec } from "../../src/model-deployment/types.js";

export function modelDeployment(namespace: string, name: string, spec: ModelDeploymentSpec): ModelDeployment {
  return {
    apiVersion: "strata.dev/v1alpha1",
    kind: "ModelDeployment",
    metadata: { name, namespace },
    spec,
  };
}

export async function createModelDeployment(
  client: KubeClient,
  namespace: string,
  name: string,
  spec: ModelDeploymentSpec,
): Promise<ModelDeployment> {
  return client.create(resourceTypes.modelDeployment, modelDeployment(namespace, name, spec));
}

export function getModelDeployment(client: KubeClient, namespace: string, name: string) {
  return client.get<ModelDeployment>(resourceTypes.modelDeployment, namespace, name);
}

export type Loose = KubeObject & Record<string, any>;

export async function getObject(
  client: KubeClient,
  kind: keyof typeof resourceTypes,
  namespace: string,
  name: string,
) {
  return client.get<Loose>(resourceTypes[kind], namespace, name);
}

/** The object once it exists: the operator creates children some time after their ModelDeployment. */
export async function waitForObject(
  client: KubeClient,
  kind: keyof typeof resourceTypes,
  namespace: string,
  name: string,
  options: { timeoutMs: number; intervalMs: number },
): Promise<Loose> {
  let object: Loose | undefined;
  await waitFor(
    async () => {
      object = await getObject(client, kind, namespace, name);
      return object !== undefined;
    },
    { ...options, message: `${resourceTypes[kind].kind} ${name}` },
  );
  return object!;
}

/**
 * No kubelet runs next to the test API server, so tests play its part: they create the engine pods the
 * Deployment controller would and write their status the way a kubelet does.
 */
export async function createEnginePod(
  client: KubeClient,
  md: ModelDeployment,
  name: string,
  status: Record<string, unknown>,
): Promise<void> {
  const namespace = md.metadata.namespace ?? "";
  await client.create(resourceTypes.pod, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      labels: { ...selectorLabels(md), "strata.dev/model-deployment": md.metadata.name },
    },
    spec: { containers: [{ name: "engine", image: "engine:test" }] },
  } as KubeObject);
  await client.mergePatch(resourceTypes.pod, namespace, name, { status }, "status");
}

export async function setPodStatus(client: KubeClient, namespace: string, name: string, status: unknown) {
  await client.mergePatch(resourceTypes.pod, namespace, name, { status }, "status");
}

/** What the Deployment controller would report; tests write it through the status subresource. */
export async function setDeploymentStatus(
  client: KubeClient,
  namespace: string,
  name: string,
  status: Record<string, unknown>,
): Promise<void> {
  const deployment = await getObject(client, "deployment", namespace, name);
  await client.mergePatch(
    resourceTypes.deployment,
    namespace,
    name,
    { status: { observedGeneration: deployment?.metadata.generation, ...status } },
    "status",
  );
}

export interface PublishedEndpoint {
  ip: string;
  port: number;
  ready: boolean;
  pod: string;
}

/** What the EndpointSlice controller would publish for the engine Service (it copies the Service's labels). */
export async function publishEndpoints(
  client: KubeClient,
  md: ModelDeployment,
  endpoints: PublishedEndpoint[],
  sliceName = `${md.metadata.name}-slice`,
): Promise<void> {
  const namespace = md.metadata.namespace ?? "";
  const service = await getObject(client, "service", namespace, md.metadata.name);
  const slice = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: sliceName,
      namespace,
      labels: { ...(service?.metadata.labels ?? {}), "kubernetes.io/service-name": md.metadata.name },
    },
    addressType: "IPv4",
    // Each endpoint gets its own port entry only when ports differ; a slice has one port list, so tests
    // publishing engines on different local ports use one slice per endpoint.
    ports: [{ name: "http", port: endpoints[0]?.port ?? 8000, protocol: "TCP" }],
    endpoints: endpoints.map((endpoint) => ({
      addresses: [endpoint.ip],
      conditions: { ready: endpoint.ready },
      targetRef: { kind: "Pod", name: endpoint.pod, namespace },
    })),
  };
  const existing = await client.get(resourceTypes.endpointSlice, namespace, sliceName);
  if (existing) {
    await client.replace(resourceTypes.endpointSlice, {
      ...slice,
      metadata: { ...slice.metadata, resourceVersion: existing.metadata.resourceVersion },
    } as KubeObject);
  } else {
    await client.create(resourceTypes.endpointSlice, slice as KubeObject);
  }
}

/** The Events kubectl describe would show for an object, oldest first. */
export async function eventsFor(client: KubeClient, namespace: string, name: string): Promise<Loose[]> {
  const list = await client.list<Loose>(resourceTypes.event, namespace);
  return list.items
    .filter(
      (event) => event.involvedObject?.name === name && event.involvedObject?.kind === "ModelDeployment",
    )
    .sort((a, b) => String(a.firstTimestamp).localeCompare(String(b.firstTimestamp)));
}
