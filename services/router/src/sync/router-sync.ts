import { hostname } from "node:os";
import type { BroadcastSubscription, Bus, Logger } from "@strata/kit";
import { routerSyncSubject, type routerSyncV1 } from "@strata/proto";
import { RecentMap } from "../recent-map.js";
import type { RoutingReport, RoutingRequest } from "../scoring/strategy.js";
import { PeerSequences } from "./peer-sequences.js";
import {
  decodeBatch,
  encodeBatch,
  originPrefix,
  type SyncEntry,
  startsWith,
  toRoutingReport,
  toRoutingRequest,
} from "./sync-codec.js";
import { maxSharedPromptChars } from "./sync-config.js";
import { createSyncMetrics, type SyncMetrics } from "./sync-metrics.js";
import type { SyncTarget } from "./sync-target.js";

export interface RouterSyncOptions {
  /** Only core pub/sub is used: the shared state is useful only while fresh. */
  bus: Pick<Bus, "broadcast" | "subscribe">;
  /** Where peers' events are applied (`routerSyncTarget` for the router). */
  target: SyncTarget;
  /** Unique per running replica; default: host name, process id and a random suffix. */
  replicaId?: string;
  /** Replicas sharing a group (the subject's last token) route as one. Default "default". */
  group?: string;
  /** Longest wait before queued events are sent; 0 sends on the next tick. Default 1. */
  flushIntervalMs?: number;
  /** Events per NATS message at most; a full batch is sent on the next tick. Default 64. */
  maxBatch?: number;
  /** Prompts are cut to this many characters before they are shared. Default 65,536, at most 131,072. */
  maxPromptChars?: number;
  /** Default: a set on a private registry (so several instances can share a process). */
  metrics?: SyncMetrics;
  logger?: Pick<Logger, "warn" | "info">;
  /** Wall clock in Unix ms, for batch times and the apply lag. */
  now?: () => number;
}

/**
 * Prompt characters per NATS message before it is sent early. A batch closes once it reaches this, so
 * it holds less than this plus one prompt (at most `maxSharedPromptChars`); at
 * UTF-8's 3 bytes per UTF-16 unit at worst, that stays under NATS's default 1 MB max_payload.
 */
const maxBatchChars = 131_072;
/** A broken connection fails every flush; one log line per interval is enough. */
const failureLogIntervalMs = 10_000;
/** Peers' requests whose prompt arrived cut, remembered until their Report; oldest forgotten first. */
const maxCutPrompts = 4_096;

/**
 * Keeps router replicas in step: this replica's committed decisions and first Reports are queued
 * (the Route path only pushes to an array), coalesced and broadcast every `flushIntervalMs` or
 * `maxBatch` events; peers' batches are applied in order to `target`. Publishing never throws and
 * never waits: while NATS is away, batches are dropped and counted (receivers see the gap in the
 * sequence numbers), and the client resubscribes by itself when NATS is back.
 */
export class RouterSync {
  readonly replicaId: string;
  readonly subject: string;
  readonly metrics: SyncMetrics;
  private readonly ownPrefix: Uint8Array;
  private readonly startedAtMs: number;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly maxPromptChars: number;
  private readonly now: () => number;
  private queue: SyncEntry[] = [];
  private queuedChars = 0;
  private oldestQueuedAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private nextSequence = 1;
  private lastFailureLoggedAtMs = Number.NEGATIVE_INFINITY;
  private readonly peers = new PeerSequences();
  /** requestId → kept / full prompt length, for peers' requests whose prompt was cut. */
  private readonly cutPrompts = new RecentMap<string, number>(maxCutPrompts);
  private subscription: BroadcastSubscription | undefined;
  private closed = false;

  constructor(private readonly options: RouterSyncOptions) {
    this.now = options.now ?? Date.now;
    this.replicaId = options.replicaId ?? defaultReplicaId();
    this.ownPrefix = originPrefix(this.replicaId);
    this.subject = routerSyncSubject(options.group ?? "default");
    this.flushIntervalMs = options.flushIntervalMs ?? 1;
    this.maxBatch = options.maxBatch ?? 64;
    this.maxPromptChars = Math.min(options.maxPromptChars ?? 65_536, maxSharedPromptChars);
    this.metrics = options.metrics ?? createSyncMetrics();
    this.startedAtMs = this.now();
  }

  /** Starts applying peers' batches. */
  start(): this {
    this.subscription ??= this.options.bus.subscribe(this.subject, (_subject, data) => this.receive(data));
    return this;
  }

  /** A decision this replica committed. Hot path: a push, and a timer for the first of a batch. */
  routed(request: RoutingRequest, endpointId: string): void {
    if (this.closed) return;
    this.queue.push({ request, endpointId });
    this.queuedChars += request.prompt.length;
    this.scheduleFlush();
  }

  /** The first Report of a request this replica counted (its own or a peer's); `model` is the served model. */
  reported(report: RoutingReport, model: string): void {
    if (this.closed) return;
    this.queue.push({ report, model });
    this.scheduleFlush();
  }

  /** Sends what is queued now. */
  flush(): void {
    this.clearTimers();
    if (this.queue.length === 0) return;
    const entries = this.queue;
    this.queue = [];
    this.queuedChars = 0;
    let start = 0;
    let chars = 0;
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      chars += "request" in entry ? entry.request.prompt.length : 0;
      const full = index + 1 - start >= this.maxBatch || chars >= maxBatchChars;
      if (full || index === entries.length - 1) {
        this.publish(entries.slice(start, index + 1));
        start = index + 1;
        chars = 0;
      }
    }
  }

  /** Sends what is queued and stops listening; later events are ignored. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.subscription?.stop();
    this.subscription = undefined;
  }

  private scheduleFlush(): void {
    if (this.queue.length === 1) this.oldestQueuedAtMs = this.now();
    if (this.immediate !== undefined) return;
    const full = this.queue.length >= this.maxBatch || this.queuedChars >= maxBatchChars;
    if (full || this.flushIntervalMs === 0) {
      // On the next tick rather than here: encoding is not the Route caller's cost to pay.
      clearTimeout(this.timer);
      this.timer = undefined;
      this.immediate = setImmediate(() => this.flush()).unref();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.flushIntervalMs).unref();
    }
  }

  private clearTimers(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  private publish(entries: SyncEntry[]): void {
    const header = {
      originReplicaId: this.replicaId,
      originStartedAtMs: this.startedAtMs,
      firstSequence: this.nextSequence,
      oldestEventAtMs: this.oldestQueuedAtMs,
    };
    try {
      this.options.bus.broadcast(this.subject, encodeBatch(header, entries, this.maxPromptChars));
    } catch (error) {
      // Not numbered: receivers count gaps, so a batch that never left must not leave one too.
      this.metrics.dropped.inc({ reason: "publish_failed" }, entries.length);
      this.logFailure(error, entries.length);
      return;
    }
    this.nextSequence += entries.length;
    this.metrics.publishedBatches.inc();
    let routed = 0;
    for (const entry of entries) if ("request" in entry) routed++;
    if (routed > 0) this.metrics.published.inc({ kind: "routed" }, routed);
    if (routed < entries.length) this.metrics.published.inc({ kind: "reported" }, entries.length - routed);
  }

  private receive(data: Uint8Array): void {
    if (this.closed || startsWith(data, this.ownPrefix)) return;
    let batch: routerSyncV1.SyncBatch;
    try {
      batch = decodeBatch(data);
    } catch {
      this.metrics.dropped.inc({ reason: "undecodable" });
      return;
    }
    if (batch.originReplicaId === this.replicaId) return;
    const now = this.now();
    const missed = this.peers.accept(
      batch.originReplicaId,
      Number(batch.originStartedAtMs),
      Number(batch.firstSequence),
      batch.events.length,
      now,
    );
    if (missed > 0) this.metrics.dropped.inc({ reason: "missed" }, missed);
    for (const event of batch.events) this.apply(event);
    this.metrics.applyLag.observe(Math.max(0, now - Number(batch.oldestEventAtMs)) / 1_000);
  }

  private apply(event: routerSyncV1.SyncEvent): void {
    const { kind } = event;
    if (kind.case === undefined) return;
    let applied: boolean;
    try {
      applied =
        kind.case === "routed"
          ? this.options.target.applyRouted(this.peerRequest(kind.value), kind.value.endpointId)
          : this.options.target.applyReported(this.peerReport(kind.value), kind.value.model);
    } catch (error) {
      this.metrics.dropped.inc({ reason: "apply_failed" });
      this.logFailure(error, 1, "could not apply a peer's routing event");
      return;
    }
    if (applied) this.metrics.applied.inc({ kind: kind.case });
    else this.metrics.dropped.inc({ reason: "unknown_endpoint" });
  }

  private peerRequest(event: routerSyncV1.RoutedEvent): RoutingRequest {
    if (event.prompt.length < event.promptChars) {
      this.cutPrompts.set(event.requestId, event.prompt.length / event.promptChars);
    }
    return toRoutingRequest(event);
  }

  /**
   * Prefix indexes turn cached tokens into characters with the prompt's characters per token; for a
   * cut prompt they know only the kept characters, so the prompt's tokens are scaled to match.
   */
  private peerReport(event: routerSyncV1.ReportedEvent): RoutingReport {
    const report = toRoutingReport(event);
    const kept = this.cutPrompts.take(event.requestId);
    if (kept === undefined) return report;
    return { ...report, promptTokens: Math.round(report.promptTokens * kept) };
  }

  private logFailure(error: unknown, events: number, message = "could not share routing events with peers") {
    const now = this.now();
    if (now - this.lastFailureLoggedAtMs < failureLogIntervalMs) return;
    this.lastFailureLoggedAtMs = now;
    this.options.logger?.warn({ err: error, events, subject: this.subject }, message);
  }
}

/** Host and process id name the replica in logs; the suffix keeps two routers in one process apart. */
export function defaultReplicaId(): string {
  return `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
