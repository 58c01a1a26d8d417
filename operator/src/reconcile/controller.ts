import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "@strata/kit";
import type { ChildOptions } from "../children/child-options.js";
import type { EventSink } from "../kube/event-recorder.js";
import { Informer, type InformerHandlers } from "../kube/informer.js";
import { KubeApiError } from "../kube/kube-api-error.js";
import type { KubeClient } from "../kube/kube-client.js";
import { controllerOf, type KubeObject, objectKey } from "../kube/kube-object.js";
import { BucketRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter } from "../kube/rate-limiter.js";
import { type ResourceType, resourceTypes } from "../kube/resource-types.js";
import { WorkQueue } from "../kube/work-queue.js";
import { labelKeys, managedSelector } from "../model-deployment/labels.js";
import type { ModelDeployment } from "../model-deployment/types.js";
import type { OperatorMetrics } from "../observability/operator-metrics.js";
import type { Caches } from "./caches.js";
import { Reconciler } from "./reconciler.js";

export interface ControllerOptions {
  client: KubeClient;
  kubeConfig: KubeConfig;
  namespace: string;
  resyncMs: number;
  workers: number;
  queue: { baseDelayMs: number; maxDelayMs: number; retriesPerSecond: number; retryBurst: number };
  childOptions: ChildOptions;
  events: EventSink;
  serviceMonitors: { readonly isAvailable: boolean };
  metrics: OperatorMetrics;
  logger: Logger;
  now: () => string;
}

/**
 * Informers feed ModelDeployment keys into the work queue, workers reconcile them. Child objects map to
 * their owner's key (owner reference, else the `strata.dev/model-deployment` label), so any change to a
 * Deployment, pod or EndpointSlice brings its ModelDeployment's status up to date.
 */
export class Controller {
  private readonly queue: WorkQueue;
  private readonly informers: Array<Informer<KubeObject>> = [];
  private readonly caches: Caches;
  private workers: Array<Promise<void>> = [];

  constructor(private readonly options: ControllerOptions) {
    const { queue, metrics } = options;
    const limiter = new MaxOfRateLimiter(
      new ItemExponentialRateLimiter(queue.baseDelayMs, queue.maxDelayMs),
      new BucketRateLimiter(queue.retriesPerSecond, queue.retryBurst),
    );
    this.queue = new WorkQueue(limiter, (depth) => metrics.queueDepth.set(depth));
    const byOwner = (object: KubeObject) => this.enqueueOwner(object);
    this.caches = {
      modelDeployments: this.informer<ModelDeployment>(resourceTypes.modelDeployment, undefined, {
        onAdd: (md) => this.enqueue(objectKey(md)),
        onUpdate: (md, previous) => {
          if (specOrLifecycleChanged(md, previous)) this.enqueue(objectKey(md));
        },
        onDelete: (md) => this.enqueue(objectKey(md)),
        onResync: (md) => this.enqueue(objectKey(md)),
      }),
      deployments: this.informer(resourceTypes.deployment, managedSelector, ownerHandlers(byOwner)),
      services: this.informer(resourceTypes.service, managedSelector, ownerHandlers(byOwner)),
      podDisruptionBudgets: this.informer(
        resourceTypes.podDisruptionBudget,
        managedSelector,
        ownerHandlers(byOwner),
      ),
      claims: this.informer(resourceTypes.persistentVolumeClaim, managedSelector, ownerHandlers(byOwner)),
      pods: this.informer(resourceTypes.pod, managedSelector, ownerHandlers(byOwner)),
      // The EndpointSlice controller copies a Service's labels onto its slices.
      endpointSlices: this.informer(
        resourceTypes.endpointSlice,
        labelKeys.modelDeployment,
        ownerHandlers(byOwner),
      ),
    } as Caches;
  }

  /** Lists every kind, then starts the workers: no reconcile runs on a half-filled cache. */
  async start(): Promise<void> {
    await Promise.all(this.informers.map((informer) => informer.start()));
    const reconciler = new Reconciler({
      ...this.options,
      options: this.options.childOptions,
      caches: this.caches,
    });
    this.workers = Array.from({ length: this.options.workers }, () => this.work(reconciler));
    this.options.logger.info({ workers: this.options.workers }, "controller started");
  }

  /** Stops taking work, lets running reconciles finish, then stops watching. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.workers);
    await Promise.all(this.informers.map((informer) => informer.stop()));
    this.options.logger.info("controller stopped");
  }

  /** The ModelDeployments as last seen (the autoscaler reads them without asking the API server). */
  get modelDeployments(): Caches["modelDeployments"] {
    return this.caches.modelDeployments;
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Every known ModelDeployment, e.g. when the cluster starts or stops serving ServiceMonitors. */
  enqueueAll(): void {
    for (const md of this.caches.modelDeployments.list()) this.enqueue(objectKey(md));
  }

  private enqueueOwner(object: KubeObject): void {
    const owner = controllerOf(object);
    const name =
      owner?.kind === resourceTypes.modelDeployment.kind
        ? owner.name
        : object.metadata.labels?.[labelKeys.modelDeployment];
    if (name) this.enqueue(`${object.metadata.namespace ?? ""}/${name}`);
  }

  private informer<T extends KubeObject>(
    type: ResourceType,
    labelSelector: string | undefined,
    handlers: InformerHandlers<T>,
  ): Informer<T> {
    const informer = new Informer<T>({
      client: this.options.client,
      kubeConfig: this.options.kubeConfig,
      type,
      namespace: this.options.namespace,
      labelSelector,
      resyncMs: this.options.resyncMs,
      handlers,
      logger: this.options.logger,
      onWatchEvent: (eventType) => this.options.metrics.watchEvents.inc({ kind: type.kind, type: eventType }),
    });
    this.informers.push(informer as unknown as Informer<KubeObject>);
    return informer;
  }

  private async work(reconciler: Reconciler): Promise<void> {
    const { metrics, logger } = this.options;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const endTimer = metrics.reconcileDuration.startTimer();
      const started = performance.now();
      try {
        await reconciler.reconcile(key);
        this.queue.forget(key);
        metrics.reconcileTotal.inc({ result: "success" });
        logger.debug({ key, durationMs: Math.round(performance.now() - started) }, "reconciled");
      } catch (error) {
        const reason = error instanceof KubeApiError ? error.reason : (error as Error).name || "Error";
        metrics.reconcileTotal.inc({ result: "error" });
        metrics.reconcileErrors.inc({ reason });
        logger.warn(
          { key, err: error, failures: this.queue.failures(key) + 1 },
          "reconcile failed; will retry",
        );
        this.queue.addRateLimited(key);
      } finally {
        endTimer();
        this.queue.done(key);
      }
    }
  }
}

/** Status-only updates (most of them the operator's own) need no reconcile; the resync catches the rest. */
function specOrLifecycleChanged(md: ModelDeployment, previous: ModelDeployment): boolean {
  return (
    md.metadata.generation !== previous.metadata.generation ||
    md.metadata.deletionTimestamp !== previous.metadata.deletionTimestamp ||
    (md.metadata.finalizers ?? []).join() !== (previous.metadata.finalizers ?? []).join()
  );
}

function ownerHandlers<T extends KubeObject>(enqueue: (object: T) => void): InformerHandlers<T> {
  return { onAdd: enqueue, onUpdate: enqueue, onDelete: enqueue };
}
