import { randomBytes } from "node:crypto";
import type { Logger } from "@strata/kit";
import { type Clock, systemClock } from "../clock.js";
import { isNotFound } from "./kube-api-error.js";
import type { KubeClient } from "./kube-client.js";
import type { KubeObject } from "./kube-object.js";
import { resourceTypes } from "./resource-types.js";

export type EventType = "Normal" | "Warning";

export interface EventSink {
  record(object: KubeObject, type: EventType, reason: string, message: string): Promise<void>;
}

const component = "strata-operator";
const maxRemembered = 4096;

/**
 * Writes core/v1 Events about ModelDeployments so `kubectl describe md` tells what the operator did. Like
 * client-go's recorder it aggregates: the same event again bumps `count` and `lastTimestamp` instead of
 * adding a line. Events are best effort; a failure to write one is logged and never fails a reconcile.
 */
export class EventRecorder implements EventSink {
  private readonly recent = new Map<string, { name: string; count: number }>();

  constructor(
    private readonly client: Pick<KubeClient, "create" | "mergePatch">,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  async record(object: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const { namespace = "default", name, uid } = object.metadata;
    const key = `${uid}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = new Date(this.clock.now()).toISOString().replace(/\.\d+Z$/, "Z");
    try {
      const seen = this.recent.get(key);
      if (seen) {
        try {
          seen.count += 1;
          await this.client.mergePatch(resourceTypes.event, namespace, seen.name, {
            count: seen.count,
            lastTimestamp: now,
          });
          this.touch(key, seen);
          return;
        } catch (error) {
          // Events expire (an hour by default); start a fresh one.
          if (!isNotFound(error)) throw error;
        }
      }
      const eventName = `${name}.${randomBytes(8).toString("hex")}`;
      await this.client.create(resourceTypes.event, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: eventName, namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name,
          namespace,
          uid,
          resourceVersion: object.metadata.resourceVersion,
        },
        type,
        reason,
        message,
        source: { component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      } as KubeObject);
      this.touch(key, { name: eventName, count: 1 });
    } catch (error) {
      this.logger.warn({ err: error, object: `${namespace}/${name}`, reason }, "could not record event");
    }
  }

  /** Keeps the most recent events, oldest forgotten first (a Map iterates in insertion order). */
  private touch(key: string, entry: { name: string; count: number }): void {
    this.recent.delete(key);
    this.recent.set(key, entry);
    if (this.recent.size > maxRemembered) this.recent.delete(this.recent.keys().next().value as string);
  }
}
