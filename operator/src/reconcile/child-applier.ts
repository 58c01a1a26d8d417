import type { EventSink } from "../kube/event-recorder.js";
import { isConflict } from "../kube/kube-api-error.js";
import type { KubeClient } from "../kube/kube-client.js";
import { controllerOf, type KubeObject } from "../kube/kube-object.js";
import type { ResourceType } from "../kube/resource-types.js";
import { hasSelectorLabels } from "../model-deployment/labels.js";
import type { ModelDeployment } from "../model-deployment/types.js";
import { ChildConflictError } from "./child-conflict-error.js";

export interface AppliedChild<T> {
  object: T;
  /** What the object looked like before, when the operator knew it; undefined when it was just created. */
  previous: T | undefined;
  /** Whether this apply changed anything (the API server skips writes that change nothing). */
  changed: boolean;
}

type Lookup<T> = { get(namespace: string, name: string): T | undefined };

/**
 * Server-side applies one child object. Before the first apply it makes sure the name is free or already
 * the ModelDeployment's; it applies without force first, and when another field manager has changed a
 * field the operator owns, it records who and takes the field back (forcing only ever touches fields in
 * the operator's applied configuration, never fields others added).
 */
export class ChildApplier {
  /** The last object each apply returned, per child: tells a real change from a no-op apply. */
  private readonly lastApplied = new Map<string, KubeObject>();

  constructor(
    private readonly client: Pick<KubeClient, "apply" | "get">,
    private readonly events: EventSink,
  ) {}

  async apply<T extends KubeObject>(
    md: ModelDeployment,
    type: ResourceType,
    desired: KubeObject,
    cache?: Lookup<T>,
  ): Promise<AppliedChild<T>> {
    const { namespace = "", name } = desired.metadata;
    const key = `${type.kind}/${namespace}/${name}`;
    let previous = (this.lastApplied.get(key) as T | undefined) ?? cache?.get(namespace, name);
    if (!previous) previous = await this.client.get<T>(type, namespace, name);
    if (previous && !belongsTo(previous, md)) throw new ChildConflictError(type.kind, namespace, name);
    let object: T;
    try {
      object = await this.client.apply<T>(type, desired);
    } catch (error) {
      if (!isConflict(error)) throw error;
      const message = `${type.kind} ${name}: another field manager changed fields the operator sets; restoring them (${(error as Error).message})`;
      await this.events.record(md, "Warning", "FieldConflict", message);
      object = await this.client.apply<T>(type, desired, { force: true });
    }
    this.lastApplied.set(key, object);
    const changed = previous?.metadata.resourceVersion !== object.metadata.resourceVersion;
    return { object, previous, changed };
  }

  /** Drops what is remembered about a ModelDeployment's children once it is gone. */
  forget(namespace: string, name: string): void {
    for (const key of this.lastApplied.keys()) {
      const [, childNamespace, childName] = key.split("/");
      if (childNamespace === namespace && (childName === name || childName === `${name}-model-cache`)) {
        this.lastApplied.delete(key);
      }
    }
  }
}

/** Owned kinds carry the ModelDeployment as controller; the cache claim (never owned) carries its labels. */
function belongsTo(object: KubeObject, md: ModelDeployment): boolean {
  const owner = controllerOf(object);
  if (owner) return owner.kind === "ModelDeployment" && owner.uid === md.metadata.uid;
  return !object.metadata.ownerReferences?.length && hasSelectorLabels(object, md);
}
