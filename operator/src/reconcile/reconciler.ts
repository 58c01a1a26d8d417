import type { Logger } from "@strata/kit";
import type { ChildOptions } from "../children/child-options.js";
import type { EventSink } from "../kube/event-recorder.js";
import type { KubeClient } from "../kube/kube-client.js";
import { splitKey } from "../kube/kube-object.js";
import type { Caches } from "./caches.js";
import { ChildApplier } from "./child-applier.js";
import { syncChildren } from "./children-sync.js";
import { finalize, syncFinalizer } from "./finalizer.js";
import { writeStatus } from "./status-writer.js";

export interface ReconcilerDeps {
  client: KubeClient;
  caches: Caches;
  events: EventSink;
  options: ChildOptions;
  serviceMonitors: { readonly isAvailable: boolean };
  logger: Logger;
  now: () => string;
}

/**
 * Level-triggered: given a key, it reads the ModelDeployment as it is now and converges its children and
 * status on it, whatever event (or none) led here. Running it twice in a row changes nothing the second
 * time. A failure is thrown after the status says what failed, and the queue retries with back-off.
 */
export class Reconciler {
  private readonly applier: ChildApplier;

  constructor(private readonly deps: ReconcilerDeps) {
    this.applier = new ChildApplier(deps.client, deps.events);
  }

  async reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const cached = this.deps.caches.modelDeployments.get(namespace, name);
    if (!cached) {
      // Deleted: garbage collection removes the owned children; nothing is left for the operator.
      this.applier.forget(namespace, name);
      return;
    }
    if (cached.metadata.deletionTimestamp) {
      await finalize(this.deps.client, this.deps.events, this.deps.logger, cached);
      return;
    }
    const md = await syncFinalizer(this.deps.client, cached);
    let failure: Error | undefined;
    let deployment = this.deps.caches.deployments.get(namespace, name);
    try {
      deployment = await syncChildren({ ...this.deps, applier: this.applier }, md);
    } catch (error) {
      failure = error as Error;
    }
    await writeStatus(this.deps, md, deployment, failure);
    if (failure) throw failure;
  }
}
