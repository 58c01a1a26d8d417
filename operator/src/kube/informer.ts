import { type KubeConfig, Watch } from "@kubernetes/client-node";
import type { Logger } from "@strata/kit";
import type { KubeClient } from "./kube-client.js";
import { type KubeObject, objectKey } from "./kube-object.js";
import { type ResourceType, resourcePath } from "./resource-types.js";
import { WakeableSleep } from "./wakeable-sleep.js";

export interface InformerHandlers<T> {
  onAdd?(object: T): void;
  onUpdate?(object: T, previous: T): void;
  onDelete?(object: T): void;
  /** Every cached object again, each resync period: the level-triggered safety net for missed events. */
  onResync?(object: T): void;
}

export interface InformerOptions<T> {
  client: KubeClient;
  kubeConfig: KubeConfig;
  type: ResourceType;
  /** Empty watches every namespace. */
  namespace?: string;
  labelSelector?: string;
  resyncMs: number;
  handlers: InformerHandlers<T>;
  logger: Logger;
  /** Called for each watch event received (the operator counts them). */
  onWatchEvent?: (type: string) => void;
}

const maxBackoffMs = 30_000;

/**
 * List-then-watch cache of one kind, like client-go's reflector and informer: it lists, watches from the
 * list's resourceVersion, resumes watches where they ended, lists again when the server says the version is
 * gone (410), backs off on errors, and replays its cache to `onResync` every resync period.
 */
export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly watcher: Watch;
  private resourceVersion = "";
  private stopped = false;
  private synced = false;
  private currentWatch: AbortController | undefined;
  /** Set when the informer itself ends a watch (an ERROR event), so the abort is not taken for a failure. */
  private endingWatch = false;
  private readonly sleeper = new WakeableSleep();
  private resyncTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: InformerOptions<T>) {
    this.watcher = new Watch(options.kubeConfig);
  }

  /** Resolves once the first list is in the cache (client-go's HasSynced). */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.loop = this.run(resolve, reject);
      this.resyncTimer = setInterval(() => this.resync(), this.options.resyncMs);
      this.resyncTimer.unref();
    });
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get(namespace: string, name: string): T | undefined {
    return this.store.get(`${namespace}/${name}`);
  }

  list(filter?: (object: T) => boolean): T[] {
    const all = [...this.store.values()];
    return filter ? all.filter(filter) : all;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    this.currentWatch?.abort();
    this.sleeper.wake();
    await this.loop;
  }

  private async run(onSynced: () => void, onFirstListFailed: (error: Error) => void): Promise<void> {
    let backoffMs = 250;
    let failedLists = 0;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) {
          await this.relist();
          if (!this.synced) {
            this.synced = true;
            onSynced();
          }
        }
        await this.watchOnce();
        backoffMs = 250;
      } catch (error) {
        if (this.stopped) break;
        // A start-up that cannot list at all (no CRD, no permission) should fail loudly, not spin.
        if (!this.synced && ++failedLists >= 3) {
          onFirstListFailed(error as Error);
          return;
        }
        this.options.logger.warn({ err: error, kind: this.options.type.kind }, "watch failed; retrying");
        await this.sleeper.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
      }
    }
  }

  private async relist(): Promise<void> {
    const { client, type, namespace, labelSelector, handlers } = this.options;
    const list = await client.list<T>(type, namespace, labelSelector);
    const seen = new Set<string>();
    for (const item of list.items) {
      // LIST items carry no apiVersion/kind; watch events do. Keep both shapes the same.
      const object = { ...item, apiVersion: type.apiVersion, kind: type.kind };
      const key = objectKey(object);
      seen.add(key);
      this.upsert(key, object);
    }
    for (const [key, object] of this.store) {
      if (!seen.has(key)) {
        this.store.delete(key);
        handlers.onDelete?.(object);
      }
    }
    this.resourceVersion = list.metadata.resourceVersion ?? "";
  }

  private watchOnce(): Promise<void> {
    const { type, namespace, labelSelector } = this.options;
    this.endingWatch = false;
    return new Promise((resolve, reject) => {
      const query = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        labelSelector,
        // Like client-go: end each watch after 5–10 min so a silently dead connection cannot last forever.
        timeoutSeconds: Math.round(300 + Math.random() * 300),
      };
      const done = (error: unknown) =>
        error && !this.stopped && !this.endingWatch ? reject(error) : resolve();
      this.watcher
        .watch(resourcePath(type, namespace), query, (phase, object) => this.onEvent(phase, object), done)
        .then((controller) => {
          this.currentWatch = controller;
          if (this.stopped) controller.abort();
        }, reject);
    });
  }

  private onEvent(phase: string, object: T & { code?: number }): void {
    this.options.onWatchEvent?.(phase);
    if (phase === "ERROR") {
      // 410 Gone: our resourceVersion was compacted away; list again. Other errors end the watch too.
      if (object.code === 410) this.resourceVersion = "";
      else this.options.logger.warn({ kind: this.options.type.kind, status: object }, "watch error event");
      this.endingWatch = true;
      this.currentWatch?.abort();
      return;
    }
    const version = object.metadata?.resourceVersion;
    if (version) this.resourceVersion = version;
    if (phase === "BOOKMARK") return;
    const key = objectKey(object);
    if (phase === "DELETED") {
      this.store.delete(key);
      this.options.handlers.onDelete?.(object);
    } else {
      this.upsert(key, object);
    }
  }

  private upsert(key: string, object: T): void {
    const previous = this.store.get(key);
    this.store.set(key, object);
    if (!previous) this.options.handlers.onAdd?.(object);
    else if (previous.metadata.resourceVersion !== object.metadata.resourceVersion) {
      this.options.handlers.onUpdate?.(object, previous);
    }
  }

  private resync(): void {
    if (!this.synced || !this.options.handlers.onResync) return;
    for (const object of this.store.values()) this.options.handlers.onResync(object);
  }
}
