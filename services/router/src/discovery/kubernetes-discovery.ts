import { existsSync } from "node:fs";
import {
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
  type V1EndpointSlice,
} from "@kubernetes/client-node";
import { ConfigError, type Logger } from "@strata/kit";
import { DemandRecorder } from "./demand-recorder.js";
import { buildDiscoveredState, type DiscoveredState, type StaticNames } from "./discovered-state.js";
import { type KubernetesDiscoveryConfig, watchedNamespace } from "./discovery-config.js";
import {
  modelDeploymentGroup,
  modelDeploymentLabel,
  modelDeploymentPlural,
  modelDeploymentVersion,
} from "./model-deployment.js";
import { ResourceWatch } from "./resource-watch.js";

export interface KubernetesDiscoveryDeps {
  /** Told the whole new state after every change (changes arriving together are coalesced). */
  onState(state: DiscoveredState): void;
  /** Names the router's own configuration owns, read at every rebuild. */
  staticNames(): StaticNames;
  onWatchError?(resource: string): void;
  /** A demand annotation written (or refused) on a ModelDeployment that scales to zero. */
  onDemandWrite?(result: "written" | "failed"): void;
  logger: Logger;
}

/** Held requests retry every few seconds; one demand write per ModelDeployment per this is plenty. */
const demandIntervalMs = 5_000;

const serviceAccountTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * Watches ModelDeployments and the EndpointSlices of their Services and rebuilds the discovered
 * state from both caches whenever either changes. Only slices carrying the operator's
 * `strata.dev/model-deployment` label are watched: Services pass their labels on to their slices, so
 * the router does not hold every slice of the cluster.
 */
export class KubernetesDiscovery {
  private readonly modelDeployments: ResourceWatch<KubernetesObject>;
  private readonly slices: ResourceWatch<V1EndpointSlice>;
  /** Wakes ModelDeployments scaled to zero when requests for their model arrive. */
  readonly demand: DemandRecorder;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly config: KubernetesDiscoveryConfig,
    private readonly deps: KubernetesDiscoveryDeps,
  ) {
    const kubeconfig = loadKubeConfig(config);
    const namespace = watchedNamespace(config);
    const where = namespace === undefined ? "" : `/namespaces/${namespace}`;
    const objects = kubeconfig.makeApiClient(CustomObjectsApi);
    const discovery = kubeconfig.makeApiClient(DiscoveryV1Api);
    const common = { kubeconfig, retryMaxMs: config.retryMaxMs, onChange: () => this.schedule() };
    const crd = {
      group: modelDeploymentGroup,
      version: modelDeploymentVersion,
      plural: modelDeploymentPlural,
    };
    const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    this.demand = new DemandRecorder({
      patch: (namespace, name, body) =>
        objects.patchNamespacedCustomObject(
          { ...crd, namespace, name, body, fieldManager: "strata-router" },
          mergePatch,
        ),
      intervalMs: demandIntervalMs,
      onWrite: (result) => deps.onDemandWrite?.(result),
      logger: deps.logger,
    });
    this.modelDeployments = new ResourceWatch<KubernetesObject>({
      ...common,
      path: `/apis/${crd.group}/${crd.version}${where}/${crd.plural}`,
      list: () =>
        (namespace === undefined
          ? objects.listClusterCustomObject(crd)
          : objects.listNamespacedCustomObject({ ...crd, namespace })) as Promise<
          KubernetesListObject<KubernetesObject>
        >,
      onError: (error, retryInMs) => this.watchFailed("modeldeployments.strata.dev", error, retryInMs),
    });
    const labelSelector = modelDeploymentLabel;
    this.slices = new ResourceWatch<V1EndpointSlice>({
      ...common,
      path: `/apis/discovery.k8s.io/v1${where}/endpointslices`,
      labelSelector,
      list: () =>
        namespace === undefined
          ? discovery.listEndpointSliceForAllNamespaces({ labelSelector })
          : discovery.listNamespacedEndpointSlice({ namespace, labelSelector }),
      onError: (error, retryInMs) => this.watchFailed("endpointslices.discovery.k8s.io", error, retryInMs),
    });
  }

  /** Starts both watches; true once both completed a first list within the configured time. */
  async start(): Promise<boolean> {
    // Events of the first lists arrive before both are complete, when rebuilding is not allowed yet:
    // the first state is published once both are, even when that is after the start-up wait.
    const both = Promise.all([this.modelDeployments.start(), this.slices.start()]).then(() =>
      this.rebuildLogged(),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.config.initialSyncTimeoutMs);
    });
    await Promise.race([both, timeout]);
    clearTimeout(timer);
    return this.synced;
  }

  get synced(): boolean {
    return this.modelDeployments.hasSynced && this.slices.hasSynced;
  }

  /** Rebuilds and publishes the state now. Nothing is published before both lists arrived. */
  rebuild(): void {
    if (this.closed || !this.synced) return;
    this.deps.onState(
      buildDiscoveredState(this.modelDeployments.list(), this.slices.list(), this.deps.staticNames()),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.modelDeployments.close(), this.slices.close()]);
  }

  /** A rebuild nobody awaits (a watch event, the first lists after the start-up wait): failures are logged. */
  private rebuildLogged(): void {
    try {
      this.rebuild();
    } catch (error) {
      this.deps.logger.error({ err: error }, "cannot apply the discovered state");
    }
  }

  /** A re-list delivers every object as its own event: one rebuild after the burst is enough. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.rebuildLogged();
    });
  }

  private watchFailed(resource: string, error: unknown, retryInMs: number): void {
    this.deps.onWatchError?.(resource);
    const namespace = watchedNamespace(this.config) ?? "all namespaces";
    this.deps.logger.warn(
      { resource, namespace, retryInMs, err: error },
      `cannot watch ${resource}: ${describeFailure(error, resource, namespace)}; retrying`,
    );
  }
}

function loadKubeConfig(config: KubernetesDiscoveryConfig): KubeConfig {
  const kubeconfig = new KubeConfig();
  if (config.kubeconfig !== undefined) {
    try {
      kubeconfig.loadFromFile(config.kubeconfig);
    } catch (error) {
      throw new ConfigError([`kubernetes.kubeconfig (${config.kubeconfig}): ${(error as Error).message}`]);
    }
    return kubeconfig;
  }
  if (!existsSync(serviceAccountTokenPath)) {
    throw new ConfigError([
      "kubernetes.kubeconfig: not set and not running in a cluster (no service-account token): set ROUTER_KUBERNETES_KUBECONFIG",
    ]);
  }
  kubeconfig.loadFromCluster();
  return kubeconfig;
}

/** What a person should check, for the failures that have a usual cause. */
function describeFailure(error: unknown, resource: string, namespace: string): string {
  const status =
    (error as { code?: unknown; statusCode?: unknown }).code ??
    (error as { statusCode?: unknown }).statusCode;
  if (status === 404) {
    return resource.startsWith("modeldeployments")
      ? "the API server does not serve it; is the CRD installed (kubectl apply -f charts/strata/crds/modeldeployment.yaml)?"
      : "the API server does not serve it";
  }
  if (status === 401) return "the API server refused the router's credentials";
  if (status === 403)
    return `forbidden: the router's identity needs list and watch on ${resource} in ${namespace}`;
  if (status === 429) return "the API server asked to slow down (it may still be starting)";
  if (typeof status === "number") return `the API server answered HTTP ${status}${statusMessage(error)}`;
  return error instanceof Error ? error.message : String(error);
}

/** The Status message of a failed API call; the client's own error text carries every header. */
function statusMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  try {
    const status = typeof body === "string" ? JSON.parse(body) : body;
    const message = (status as { message?: unknown } | undefined)?.message;
    return typeof message === "string" && message !== "" ? `: ${message}` : "";
  } catch {
    return "";
  }
}
