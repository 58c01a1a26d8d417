import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ListPromise,
  makeInformer,
} from "@kubernetes/client-node";
import { exponentialBackoffMs } from "../endpoints/backoff.js";

export interface ResourceWatchOptions<T extends KubernetesObject> {
  kubeconfig: KubeConfig;
  /** The watch path, e.g. /apis/strata.dev/v1alpha1/namespaces/default/modeldeployments. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  /** Called after every add, update or delete in the cache, including those of a re-list. */
  onChange: () => void;
  /** A failed list or watch; the watch is re-established after `retryInMs`. */
  onError: (error: unknown, retryInMs: number) => void;
  retryBaseMs?: number;
  retryMaxMs: number;
}

/**
 * One kind of object kept in a local cache by list + watch (the client's informer). The informer
 * stops for good on an error other than "resource version too old" (410, which it handles by
 * re-listing), so this re-starts it with capped exponential back-off; a restart resumes from the last
 * resource version, or re-lists when that has expired, and the cache stays usable meanwhile.
 */
export class ResourceWatch<T extends KubernetesObject> {
  private readonly informer: ReturnType<typeof makeInformer<T>>;
  private failures = 0;
  private failedSinceStart = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private synced = false;
  private readonly firstSync: Promise<void>;
  private resolveFirstSync!: () => void;

  constructor(private readonly options: ResourceWatchOptions<T>) {
    this.firstSync = new Promise((resolve) => {
      this.resolveFirstSync = resolve;
    });
    const list: ListPromise<T> = () => options.list();
    this.informer = makeInformer(options.kubeconfig, options.path, list, options.labelSelector);
    for (const verb of ["add", "update", "delete"] as const) this.informer.on(verb, () => options.onChange());
    this.informer.on("error", (error: unknown) => this.failed(error));
  }

  /** Starts listing and watching; resolves once the first list is in the cache (retrying until then). */
  start(): Promise<void> {
    void this.connect();
    return this.firstSync;
  }

  /** Whether a complete list has been loaded at least once. */
  get hasSynced(): boolean {
    return this.synced;
  }

  list(): readonly T[] {
    return this.informer.list();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.informer.stop();
  }

  private async connect(): Promise<void> {
    this.failedSinceStart = false;
    try {
      // Resolves after the list and the start of the watch, with list and connect errors already reported.
      await this.informer.start();
    } catch (error) {
      // A few failures (no current cluster in the kubeconfig) are thrown rather than reported.
      this.failed(error);
      return;
    }
    if (this.closed || this.failedSinceStart) return;
    this.failures = 0;
    if (!this.synced) {
      this.synced = true;
      this.resolveFirstSync();
    }
  }

  private failed(error: unknown): void {
    // Stopping aborts the watch request, which the informer reports as an error.
    if (this.closed) return;
    this.failedSinceStart = true;
    this.failures++;
    const retryInMs = exponentialBackoffMs(
      this.options.retryBaseMs ?? 1_000,
      this.failures - 1,
      this.options.retryMaxMs,
    );
    this.options.onError(error, retryInMs);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), retryInMs);
    this.retryTimer.unref();
  }
}
