/**
 * One KvEventSubscriber per endpoint that has `kvEvents` configured, kept in step with the endpoint
 * list (config reloads): new endpoints get a subscriber, removed or changed ones are closed and
 * their blocks forgotten, so the index never routes to an engine it no longer follows.
 */
import type { Logger } from "@strata/kit";
import type { BlockIndex } from "./block-index.js";
import type { KvEventsEndpointConfig } from "./config.js";
import { KvEventSubscriber, type KvEventSubscriberOptions } from "./subscriber.js";

export interface KvEventsEndpoint {
  id: string;
  kvEvents?: KvEventsEndpointConfig | undefined;
}

export class KvEventsPool {
  private readonly subscribers = new Map<string, { key: string; subscriber: KvEventSubscriber }>();
  /** Syncs run one after another: one still closing subscribers must not see a later list half-applied. */
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: { index: BlockIndex; logger?: Pick<Logger, "warn" | "info"> },
    private readonly options: KvEventSubscriberOptions = {},
  ) {}

  get(endpointId: string): KvEventSubscriber | undefined {
    return this.subscribers.get(endpointId)?.subscriber;
  }

  /** Every subscriber, for metrics. */
  all(): KvEventSubscriber[] {
    return [...this.subscribers.values()].map((entry) => entry.subscriber);
  }

  /** Follows `endpoints`; resolves once this list (and every earlier one) is applied. */
  sync(endpoints: readonly KvEventsEndpoint[]): Promise<void> {
    const applied = this.syncing.then(() => this.apply(endpoints));
    this.syncing = applied.catch(() => {});
    return applied;
  }

  private async apply(endpoints: readonly KvEventsEndpoint[]): Promise<void> {
    const wanted = new Map<string, KvEventsEndpointConfig>();
    for (const endpoint of endpoints) if (endpoint.kvEvents) wanted.set(endpoint.id, endpoint.kvEvents);
    const closing: Promise<void>[] = [];
    for (const [id, { key, subscriber }] of this.subscribers) {
      const config = wanted.get(id);
      if (config && JSON.stringify(config) === key) continue;
      this.subscribers.delete(id);
      closing.push(subscriber.close().then(() => this.deps.index.removeEndpoint(id)));
    }
    await Promise.all(closing);
    for (const [id, config] of wanted) {
      if (this.subscribers.has(id)) continue;
      const subscriber = new KvEventSubscriber(id, config, this.deps, this.options);
      this.subscribers.set(id, { key: JSON.stringify(config), subscriber });
    }
  }

  async close(): Promise<void> {
    await this.sync([]);
  }
}
