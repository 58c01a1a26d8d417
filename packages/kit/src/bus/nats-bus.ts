import {
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { connect, type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node";
import { type BusLogger, InFlight, runHandler } from "./handler-runner.js";
import { isNoMessage, isNotFound, toConsumerConfig, toStreamConfig } from "./nats-config.js";
import { injectTraceHeaders } from "./trace-headers.js";
import {
  type BroadcastHandler,
  type BroadcastSubscription,
  BUS_DEFAULTS,
  type Bus,
  type BusMessage,
  type BusPayload,
  type ConsumerSpec,
  type MessageHandler,
  type PublishOptions,
  type StoredBusMessage,
  type StreamSpec,
  type Subscription,
} from "./types.js";

export interface NatsBusOptions {
  url: string;
  /** Connection name shown by the server's monitoring (use the service name). */
  name: string;
  logger?: BusLogger;
}

/**
 * A pull request waits this long for messages. It bounds how long an idle fetch holds slots that
 * were freed meanwhile, at the cost of one request per idle consumer every few seconds.
 */
const FETCH_EXPIRES_MS = 5_000;
const RETRY_DELAY_MAX_MS = 5_000;

export async function createNatsBus(options: NatsBusOptions): Promise<Bus> {
  const connection = await connect({
    servers: options.url,
    name: options.name,
    // A bus outage must not kill the service: keep trying, services resume when NATS is back.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  });
  try {
    const manager = await jetstreamManager(connection); // fails fast when JetStream is disabled
    return new NatsBus(connection, manager, jetstream(connection), options.logger);
  } catch (error) {
    await connection.close();
    throw error;
  }
}

class NatsBus implements Bus {
  readonly #subscriptions = new Set<Subscription>();

  constructor(
    private readonly connection: NatsConnection,
    private readonly manager: JetStreamManager,
    private readonly client: JetStreamClient,
    private readonly logger?: BusLogger,
  ) {}

  async ensureStream(spec: StreamSpec): Promise<void> {
    const config = toStreamConfig(spec);
    try {
      await this.manager.streams.info(spec.name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.manager.streams.add(config);
      return;
    }
    await this.manager.streams.update(spec.name, config);
  }

  async publish(subject: string, data: BusPayload, options: PublishOptions = {}): Promise<void> {
    const headers = natsHeaders();
    for (const [key, value] of Object.entries(injectTraceHeaders(options.headers ?? {}))) {
      headers.set(key, value);
    }
    // The server answers only after storing the message, so this resolves once it is durable.
    await this.client.publish(subject, typeof data === "function" ? data() : data, {
      headers,
      ...(options.msgId !== undefined ? { msgID: options.msgId } : {}),
    });
  }

  broadcast(subject: string, data: Uint8Array): void {
    this.connection.publish(subject, data);
  }

  subscribe(subject: string, handler: BroadcastHandler): BroadcastSubscription {
    const subscription = this.connection.subscribe(subject, {
      callback: (error, message) => {
        if (error) this.logger?.warn({ err: error, subject }, "broadcast subscription failed");
        else handler(message.subject, message.data);
      },
    });
    return { stop: () => subscription.unsubscribe() };
  }

  async consume(spec: ConsumerSpec, handler: MessageHandler): Promise<Subscription> {
    await this.#ensureConsumer(spec);
    const consumer = await this.client.consumers.get(spec.stream, spec.durable);
    const inFlight = new InFlight(spec.concurrency ?? BUS_DEFAULTS.concurrency);
    const backoffMs = spec.backoffMs ?? BUS_DEFAULTS.backoffMs;
    const state: FetchLoopState = { stopped: false, wakeFromRetryDelay: () => {}, stopFetch: () => {} };
    const loop = this.#fetchLoop(spec, consumer, inFlight, state, (message) =>
      runHandler(message, handler, backoffMs, this.logger),
    );
    let stopping: Promise<void> | undefined;
    const subscription: Subscription = {
      stop: () => {
        stopping ??= (async () => {
          state.stopped = true;
          state.wakeFromRetryDelay();
          state.stopFetch();
          await loop;
          await inFlight.drain();
          this.#subscriptions.delete(subscription);
        })();
        return stopping;
      },
    };
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async getMessage(stream: string, seq: number): Promise<StoredBusMessage | undefined> {
    const stored = await this.manager.streams.getMessage(stream, { seq });
    if (!stored) return undefined;
    const headers: Record<string, string> = {};
    for (const key of stored.header?.keys() ?? []) headers[key] = stored.header.get(key);
    return { stream, seq: stored.seq, subject: stored.subject, data: stored.data, headers };
  }

  async deleteMessage(stream: string, seq: number): Promise<boolean> {
    try {
      return await this.manager.streams.deleteMessage(stream, seq);
    } catch (error) {
      if (isNoMessage(error)) return false;
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.stop()));
    if (!this.connection.isClosed()) await this.connection.drain();
  }

  async #ensureConsumer(spec: ConsumerSpec): Promise<void> {
    const config = toConsumerConfig(spec);
    try {
      await this.manager.consumers.info(spec.stream, spec.durable);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.manager.consumers.add(spec.stream, config);
      return;
    }
    const { durable_name: _name, ack_policy: _ack, deliver_policy: _deliver, ...updatable } = config;
    await this.manager.consumers.update(spec.stream, spec.durable, updatable);
  }

  /**
   * Pulls only as many messages as there are free handler slots, so nothing waits in a client
   * buffer while its ack-wait runs out (what `consume()` with its eager refill would do).
   */
  async #fetchLoop(
    spec: ConsumerSpec,
    consumer: Consumer,
    inFlight: InFlight,
    state: FetchLoopState,
    run: (message: BusMessage) => Promise<void>,
  ): Promise<void> {
    let failures = 0;
    while (!state.stopped) {
      await inFlight.waitForSlot();
      if (state.stopped) break;
      try {
        const batch = await consumer.fetch({ max_messages: inFlight.free, expires: FETCH_EXPIRES_MS });
        // stop() ends the pull at once instead of waiting up to FETCH_EXPIRES_MS: the server drops
        // pull requests whose inbox lost interest, so later messages go to other subscribers. One
        // that was already on the wire is redelivered after ack-wait.
        state.stopFetch = () => batch.stop();
        if (state.stopped) batch.stop();
        for await (const message of batch) {
          // Arrived after stop(): hand it straight back so another subscriber gets it now.
          if (state.stopped) message.nak();
          else void inFlight.run(() => run(toBusMessage(message)));
        }
        failures = 0;
      } catch (error) {
        if (state.stopped) break;
        failures++;
        const delayMs = Math.min(250 * 2 ** failures, RETRY_DELAY_MAX_MS);
        this.logger?.warn(
          { err: error, stream: spec.stream, durable: spec.durable, retryInMs: delayMs },
          "bus fetch failed; retrying",
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          state.wakeFromRetryDelay = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }
}

interface FetchLoopState {
  stopped: boolean;
  wakeFromRetryDelay: () => void;
  stopFetch: () => void;
}

function toBusMessage(message: JsMsg): BusMessage {
  const headers: Record<string, string> = {};
  for (const key of message.headers?.keys() ?? []) headers[key] = message.headers!.get(key);
  return {
    subject: message.subject,
    data: message.data,
    headers,
    deliveryCount: message.info.deliveryCount,
    streamSeq: message.info.streamSequence,
    ack: () => message.ack(),
    nak: (delayMs) => message.nak(delayMs && delayMs > 0 ? delayMs : undefined),
    term: () => message.term(),
    working: () => message.working(),
  };
}
