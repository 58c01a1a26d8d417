import type { Logger } from "@strata/kit";
import type { Clock } from "../clock.js";
import type { EventSink } from "../kube/event-recorder.js";
import { isConflict } from "../kube/kube-api-error.js";
import type { KubeClient } from "../kube/kube-client.js";
import { objectKey } from "../kube/kube-object.js";
import { resourceTypes } from "../kube/resource-types.js";
import { desiredReplicas, type ModelDeployment } from "../model-deployment/types.js";
import type { OperatorMetrics } from "../observability/operator-metrics.js";
import { DemandTracker } from "./demand.js";
import type { LoadSource } from "./load-source.js";
import { LoadWindow } from "./load-window.js";
import { ScaleDownStabilizer } from "./scale-down-stabilizer.js";
import { autoscalingSettings, type Recommendation, recommendReplicas } from "./scaling-policy.js";

export interface AutoscalerDeps {
  /** Every ModelDeployment the controller knows (its informer's cache). */
  modelDeployments: () => ModelDeployment[];
  client: Pick<KubeClient, "mergePatch">;
  events: EventSink;
  load: LoadSource;
  clock: Clock;
  metrics: Pick<
    OperatorMetrics,
    "autoscaleDecisions" | "autoscaleLoad" | "autoscaleDesiredReplicas" | "loadReadErrors"
  >;
  logger: Logger;
  /** How often the load is sampled and replicas decided. */
  intervalMs: number;
}

interface Tracked {
  window: LoadWindow;
  stabilizer: ScaleDownStabilizer;
}

/**
 * Scales each ModelDeployment that has spec.autoscaling: every interval it samples the engines' load,
 * averages it over the resource's window, asks the policy for a replica count, stabilises scale-downs,
 * and writes spec.replicas through the scale subresource — the same door an HPA or `kubectl scale` uses,
 * so the reconciler's one replica path turns it into Deployment replicas. Runs only on the leader.
 */
export class Autoscaler {
  private readonly tracked = new Map<string, Tracked>();
  private readonly demand = new DemandTracker();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: AutoscalerDeps) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One round over every autoscaled ModelDeployment; a failure on one never stops the others. */
  async tick(): Promise<void> {
    const scaled = this.deps
      .modelDeployments()
      .filter((md) => md.spec.autoscaling !== undefined && !md.metadata.deletionTimestamp);
    const keys = new Set(scaled.map(objectKey));
    for (const key of this.tracked.keys()) if (!keys.has(key)) this.untrack(key);
    await Promise.all(
      scaled.map((md) =>
        this.scale(md).catch((error: unknown) =>
          this.deps.logger.warn(
            { err: error, key: objectKey(md) },
            "autoscaling failed; retrying next round",
          ),
        ),
      ),
    );
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => this.schedule());
    }, this.deps.intervalMs);
  }

  private async scale(md: ModelDeployment): Promise<void> {
    const { load, clock, metrics, logger } = this.deps;
    const settings = autoscalingSettings(md.spec.autoscaling!);
    const key = objectKey(md);
    const tracked = this.track(key);
    const sample = await load.sample(md);
    if (sample.missing > 0) {
      metrics.loadReadErrors.inc(sample.missing);
      logger.warn({ key, failures: sample.failures }, "could not read the load of some replicas");
    }
    const now = clock.now();
    const windowMs = settings.windowSeconds * 1000;
    tracked.window.add(now, sample);
    const average = tracked.window.average(now, windowMs);
    const demand = this.demand.pending(key, md.metadata.annotations, now, windowMs);
    const current = desiredReplicas(md);
    const recommendation = recommendReplicas(settings, current, average, demand);
    const delayMs = settings.scaleDownDelaySeconds * 1000;
    const replicas = tracked.stabilizer.stabilize(now, current, recommendation.replicas, delayMs);
    const labels = { namespace: md.metadata.namespace ?? "", name: md.metadata.name };
    metrics.autoscaleLoad.set(labels, average.inFlight);
    metrics.autoscaleDesiredReplicas.set(labels, replicas);
    if (replicas !== current) await this.write(md, current, replicas, recommendation);
  }

  private async write(md: ModelDeployment, from: number, to: number, recommendation: Recommendation) {
    const { namespace = "", name, resourceVersion } = md.metadata;
    try {
      // The resourceVersion makes this a compare-and-swap: a decision made on a stale copy is dropped.
      await this.deps.client.mergePatch(
        resourceTypes.modelDeployment,
        namespace,
        name,
        { metadata: { resourceVersion }, spec: { replicas: to } },
        "scale",
      );
    } catch (error) {
      if (isConflict(error)) return;
      throw error;
    }
    const direction = to === 0 ? "to_zero" : from === 0 ? "from_zero" : to > from ? "up" : "down";
    this.deps.metrics.autoscaleDecisions.inc({ direction });
    const reason = {
      to_zero: "ScaledToZero",
      from_zero: "ScaledFromZero",
      up: "Autoscaled",
      down: "Autoscaled",
    };
    const message = `scaled from ${from} to ${to} replicas: ${recommendation.why}`;
    this.deps.logger.info({ key: objectKey(md), from, to, why: recommendation.why }, "autoscaled");
    await this.deps.events.record(md, "Normal", reason[direction], message);
  }

  private track(key: string): Tracked {
    let tracked = this.tracked.get(key);
    if (!tracked) {
      tracked = { window: new LoadWindow(), stabilizer: new ScaleDownStabilizer() };
      this.tracked.set(key, tracked);
    }
    return tracked;
  }

  private untrack(key: string): void {
    this.tracked.delete(key);
    this.demand.forget(key);
    const [namespace = "", name = ""] = key.split("/");
    this.deps.metrics.autoscaleLoad.remove({ namespace, name });
    this.deps.metrics.autoscaleDesiredReplicas.remove({ namespace, name });
  }
}
