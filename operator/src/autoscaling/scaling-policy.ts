import type { AutoscalingSpec } from "../model-deployment/types.js";
import type { AverageLoad } from "./load-window.js";

/** spec.autoscaling with the schema's defaults filled in (objects stored before a default existed lack it). */
export interface AutoscalingSettings {
  minReplicas: number;
  maxReplicas: number;
  targetInFlightPerReplica: number;
  targetQueueDepthPerReplica: number | undefined;
  windowSeconds: number;
  scaleDownDelaySeconds: number;
  scaleToZero: boolean;
}

export function autoscalingSettings(spec: AutoscalingSpec): AutoscalingSettings {
  return {
    minReplicas: spec.minReplicas ?? 1,
    maxReplicas: spec.maxReplicas,
    targetInFlightPerReplica: spec.targetInFlightPerReplica ?? 16,
    targetQueueDepthPerReplica: spec.targetQueueDepthPerReplica,
    windowSeconds: spec.windowSeconds ?? 60,
    scaleDownDelaySeconds: spec.scaleDownDelaySeconds ?? 300,
    scaleToZero: spec.scaleToZero ?? false,
  };
}

export interface Recommendation {
  replicas: number;
  /** Why, in words for the Event: the load and the target it was measured against. */
  why: string;
}

/**
 * The replicas the load calls for right now, before stabilisation: enough that the average in-flight
 * requests per replica stay at the target, and (with a queue target) that the waiting ones per replica
 * do not exceed it; at least one while requests wait for a replica; within the bounds; zero only with
 * scaleToZero and nothing at all in flight or waiting.
 */
export function recommendReplicas(
  settings: AutoscalingSettings,
  current: number,
  load: AverageLoad,
  demand: boolean,
): Recommendation {
  const target = settings.targetInFlightPerReplica;
  const queueTarget = settings.targetQueueDepthPerReplica;
  const byInFlight = Math.ceil(load.inFlight / target);
  const byQueue =
    queueTarget === undefined || load.waiting === 0
      ? 0
      : queueTarget === 0
        ? current + 1
        : Math.ceil(load.waiting / queueTarget);
  let wanted = Math.max(byInFlight, byQueue, demand ? 1 : 0);
  if (wanted < current && load.missing > 0) {
    // Replicas that could not be read may be busy: count them at the target before removing any.
    const unread = Math.ceil((load.inFlight + load.missing * target) / target);
    wanted = Math.min(current, Math.max(wanted, unread));
  }
  const seconds = settings.windowSeconds;
  const measured = `${round(load.inFlight)} requests in flight (${round(load.waiting)} waiting) on average over ${seconds} s, target ${target} per replica`;
  if (wanted === 0 && settings.scaleToZero) {
    return { replicas: 0, why: `no requests in flight or waiting over ${seconds} s` };
  }
  const floor = Math.max(settings.minReplicas, 1);
  const replicas = Math.min(Math.max(wanted, floor), settings.maxReplicas);
  const reasons = [measured];
  if (byQueue > byInFlight) reasons.push(`more than ${queueTarget} waiting per replica`);
  if (demand && byInFlight === 0 && byQueue === 0) reasons.unshift("requests are waiting for a replica");
  if (wanted > settings.maxReplicas) reasons.push(`capped at maxReplicas ${settings.maxReplicas}`);
  if (wanted < floor) reasons.push(`kept at minReplicas ${floor}`);
  return { replicas, why: reasons.join("; ") };
}

function round(value: number): string {
  return String(Math.round(value * 10) / 10);
}
