import {
  type BroadcastHandler,
  type BroadcastSubscription,
  type Bus,
  createNatsBus,
  type Logger,
  type NatsBusOptions,
} from "@strata/kit";
import { exponentialBackoffMs } from "../endpoints/backoff.js";

export interface BackgroundNatsBusOptions {
  url: string;
  /** Connection name shown by the server's monitoring. */
  name: string;
  logger: Logger;
  connect?: (options: NatsBusOptions) => Promise<Bus>;
  retryMinMs?: number;
  retryMaxMs?: number;
}

interface Listener {
  subject: string;
  handler: BroadcastHandler;
  active?: BroadcastSubscription;
}

/**
 * The broadcast half of a Bus that connects to NATS in the background, retrying with back-off until
 * it can. Sharing routing state makes replicas route better, not at all, so a router whose NATS is
 * down at start-up serves alone meanwhile: broadcasts throw (RouterSync counts them as dropped) and
 * subscriptions take effect once connected. After the first connection the NATS client reconnects by
 * itself and restores subscriptions.
 */
export class BackgroundNatsBus implements Pick<Bus, "broadcast" | "subscribe"> {
  #bus: Bus | undefined;
  readonly #listeners = new Set<Listener>();
  #closed = false;
  #wake: () => void = () => {};

  constructor(private readonly options: BackgroundNatsBusOptions) {
    void this.#connectLoop();
  }

  get connected(): boolean {
    return this.#bus !== undefined;
  }

  broadcast(subject: string, data: Uint8Array): void {
    if (this.#bus === undefined) throw new Error("not connected to NATS yet");
    this.#bus.broadcast(subject, data);
  }

  subscribe(subject: string, handler: BroadcastHandler): BroadcastSubscription {
    const listener: Listener = { subject, handler };
    this.#listeners.add(listener);
    if (this.#bus) listener.active = this.#bus.subscribe(subject, handler);
    return {
      stop: () => {
        this.#listeners.delete(listener);
        listener.active?.stop();
      },
    };
  }

  /**
   * Stops retrying and closes the connection (draining it) if there is one. An attempt still under
   * way is not waited for (the client's connect timeout outlasts a shutdown deadline): the loop closes
   * what it connects after this.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake();
    const bus = this.#bus;
    this.#bus = undefined;
    await bus?.close();
  }

  async #connectLoop(): Promise<void> {
    const { url, name, logger } = this.options;
    const connect = this.options.connect ?? createNatsBus;
    const minMs = this.options.retryMinMs ?? 500;
    const maxMs = this.options.retryMaxMs ?? 10_000;
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        const bus = await connect({ url, name, logger });
        if (this.#closed) {
          // Connected after close(): nothing will use this connection, so how it closes does not matter.
          await bus.close().catch(() => {});
          return;
        }
        this.#bus = bus;
        for (const listener of this.#listeners)
          listener.active = bus.subscribe(listener.subject, listener.handler);
        if (attempt > 0) logger.info({ attempts: attempt + 1 }, "connected to NATS for router sync");
        return;
      } catch (error) {
        if (this.#closed) return;
        const delayMs = exponentialBackoffMs(minMs, attempt, maxMs);
        logger.warn({ err: error, retryInMs: delayMs }, "NATS unreachable; routing alone until it is");
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs).unref();
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }
}
