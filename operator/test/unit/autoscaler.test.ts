import { createMetricsRegistry, silentLogger } from "@strata/kit";
import { beforeEach, describe, expect, it } from "vitest";
import { Autoscaler } from "../../src/autoscaling/autoscaler.js";
import { demandAnnotation } from "../../src/autoscaling/demand.js";
import type { LoadSample, LoadSource } from "../../src/autoscaling/load-source.js";
import { ScaleDownStabilizer } from "../../src/autoscaling/scale-down-stabilizer.js";
import { autoscalingSettings, recommendReplicas } from "../../src/autoscaling/scaling-policy.js";
import type { EventSink, EventType } from "../../src/kube/event-recorder.js";
import { KubeApiError } from "../../src/kube/kube-api-error.js";
import type { KubeObject } from "../../src/kube/kube-object.js";
import type { AutoscalingSpec, ModelDeployment } from "../../src/model-deployment/types.js";
import { createOperatorMetrics } from "../../src/observability/operator-metrics.js";

/** Load the test sets per ModelDeployment name, as the engines would report it. */
class FakeLoad implements LoadSource {
  readonly load = new Map<string, Partial<LoadSample>>();

  async sample(md: ModelDeployment): Promise<LoadSample> {
    return {
      inFlight: 0,
      waiting: 0,
      replicas: 1,
      missing: 0,
      failures: [],
      ...this.load.get(md.metadata.name),
    };
  }
}

/** The scale subresource as the API server serves it: a stale resourceVersion gets 409. */
class FakeScaleApi {
  readonly writes: Array<{ name: string; replicas: number }> = [];
  conflictNext = false;

  constructor(private readonly objects: Map<string, ModelDeployment>) {}

  async mergePatch<T extends KubeObject>(
    _type: unknown,
    _namespace: string,
    name: string,
    patch: { metadata: { resourceVersion?: string }; spec: { replicas: number } },
    subresource?: string,
  ): Promise<T> {
    expect(subresource).toBe("scale");
    const md = this.objects.get(name)!;
    if (this.conflictNext || patch.metadata.resourceVersion !== md.metadata.resourceVersion) {
      this.conflictNext = false;
      throw new KubeApiError(409, "Conflict", "the object has been modified");
    }
    md.spec.replicas = patch.spec.replicas;
    md.metadata.resourceVersion = String(Number(md.metadata.resourceVersion) + 1);
    this.writes.push({ name, replicas: patch.spec.replicas });
    return md as unknown as T;
  }
}

class RecordedEvents implements EventSink {
  readonly recorded: Array<{ type: EventType; reason: string; message: string }> = [];

  async record(_object: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    this.recorded.push({ type, reason, message });
  }
}

function scaled(name: string, autoscaling: AutoscalingSpec, replicas?: number): ModelDeployment {
  return {
    apiVersion: "strata.dev/v1alpha1",
    kind: "ModelDeployment",
    metadata: { name, namespace: "ns", resourceVersion: "1", uid: `uid-${name}` },
    spec: {
      model: { name, source: "hf://a/b" },
      autoscaling,
      ...(replicas === undefined ? {} : { replicas }),
    },
  };
}

describe("Autoscaler", () => {
  let now: number;
  let objects: Map<string, ModelDeployment>;
  let load: FakeLoad;
  let api: FakeScaleApi;
  let events: RecordedEvents;
  let autoscaler: Autoscaler;
  const registry = createMetricsRegistry("operator-test");
  const metrics = createOperatorMetrics(registry);
  const seconds = (count: number) => {
    now += count * 1000;
  };
  /** Rounds every 5 s for `count` seconds, as the operator's timer would run them. */
  const runFor = async (count: number) => {
    for (let elapsed = 0; elapsed < count; elapsed += 5) {
      seconds(5);
      await autoscaler.tick();
    }
  };
  const replicasOf = (name: string) => objects.get(name)!.spec.replicas;

  beforeEach(() => {
    registry.resetMetrics();
    now = Date.parse("2026-01-01T00:00:00Z");
    objects = new Map();
    load = new FakeLoad();
    api = new FakeScaleApi(objects);
    events = new RecordedEvents();
    autoscaler = new Autoscaler({
      modelDeployments: () => [...objects.values()],
      client: api,
      events,
      load,
      clock: { now: () => now },
      metrics,
      logger: silentLogger(),
      intervalMs: 5_000,
    });
  });

  const add = (md: ModelDeployment) => objects.set(md.metadata.name, md);

  it("scales up at once to the replicas the average load needs, within maxReplicas", async () => {
    add(scaled("busy", { minReplicas: 1, maxReplicas: 4, targetInFlightPerReplica: 16, windowSeconds: 10 }));
    load.load.set("busy", { inFlight: 40 });
    await autoscaler.tick();
    expect(replicasOf("busy")).toBe(3);
    expect(events.recorded).toEqual([
      {
        type: "Normal",
        reason: "Autoscaled",
        message:
          "scaled from 1 to 3 replicas: 40 requests in flight (0 waiting) on average over 10 s, target 16 per replica",
      },
    ]);
    load.load.set("busy", { inFlight: 200 });
    await runFor(10);
    expect(replicasOf("busy")).toBe(4);
    expect(events.recorded.at(-1)?.message).toContain("capped at maxReplicas 4");
    const decisions = await registry.getSingleMetric("strata_operator_autoscale_decisions_total")?.get();
    expect(decisions?.values).toEqual([{ labels: { direction: "up" }, value: 2 }]);
  });

  it("averages over the window, so a short burst moves the count only by its share", async () => {
    add(
      scaled("bursty", { minReplicas: 1, maxReplicas: 10, targetInFlightPerReplica: 10, windowSeconds: 60 }),
    );
    await runFor(55); // eleven quiet samples
    load.load.set("bursty", { inFlight: 120 });
    seconds(5);
    await autoscaler.tick();
    // (11 × 0 + 120) / 12 = 10 in flight on average: one replica's worth, not twelve.
    expect(replicasOf("bursty")).toBeUndefined();
    await autoscaler.tick();
    expect(replicasOf("bursty")).toBe(2);
  });

  it("scales down only after the lower load has lasted scaleDownDelaySeconds, without flapping", async () => {
    add(
      scaled(
        "calm",
        {
          minReplicas: 1,
          maxReplicas: 8,
          targetInFlightPerReplica: 10,
          windowSeconds: 10,
          scaleDownDelaySeconds: 60,
        },
        4,
      ),
    );
    load.load.set("calm", { inFlight: 40 });
    await runFor(60);
    // Load that drops and comes back within the delay never removes a replica.
    for (let round = 0; round < 6; round++) {
      load.load.set("calm", { inFlight: round % 2 === 0 ? 5 : 40 });
      await runFor(20);
    }
    expect(api.writes).toEqual([]);
    load.load.set("calm", { inFlight: 15 });
    await runFor(55);
    expect(replicasOf("calm")).toBe(4);
    // Then only down to the highest recommendation of the delay: 3 while the window still held 40.
    await runFor(10);
    expect(replicasOf("calm")).toBe(3);
    await runFor(5);
    expect(replicasOf("calm")).toBe(2);
    expect(api.writes).toEqual([
      { name: "calm", replicas: 3 },
      { name: "calm", replicas: 2 },
    ]);
    expect(events.recorded.at(-1)?.message).toMatch(/^scaled from 3 to 2 replicas: 15 requests in flight/);
  });

  it("scales to zero after the delay without load, and back to one when requests wait", async () => {
    add(
      scaled(
        "idle",
        { minReplicas: 1, maxReplicas: 3, windowSeconds: 10, scaleDownDelaySeconds: 30, scaleToZero: true },
        1,
      ),
    );
    await runFor(25);
    expect(replicasOf("idle")).toBe(1);
    await runFor(10);
    expect(replicasOf("idle")).toBe(0);
    expect(events.recorded.at(-1)).toMatchObject({
      reason: "ScaledToZero",
      message: "scaled from 1 to 0 replicas: no requests in flight or waiting over 10 s",
    });
    // The router marks demand on the resource; the next round brings one replica back at once.
    const md = objects.get("idle")!;
    md.metadata.annotations = { [demandAnnotation]: new Date(now).toISOString() };
    seconds(5);
    await autoscaler.tick();
    expect(replicasOf("idle")).toBe(1);
    expect(events.recorded.at(-1)).toMatchObject({
      reason: "ScaledFromZero",
      message: expect.stringContaining("scaled from 0 to 1 replicas: requests are waiting for a replica"),
    });
    // The replica stays while it loads and the demand is fresh, then goes again once nobody waits.
    await runFor(35);
    expect(replicasOf("idle")).toBe(0);
  });

  it("keeps replicas whose load it cannot read, and keeps a floor of one without scaleToZero", async () => {
    add(scaled("blind", { minReplicas: 1, maxReplicas: 4, windowSeconds: 10, scaleDownDelaySeconds: 0 }, 3));
    load.load.set("blind", { inFlight: 0, replicas: 1, missing: 2, failures: ["a: timeout", "b: timeout"] });
    await runFor(30);
    expect(replicasOf("blind")).toBe(2);
    load.load.set("blind", { inFlight: 0, replicas: 2, missing: 0, failures: [] });
    await runFor(30);
    expect(replicasOf("blind")).toBe(1);
  });

  it("drops a decision made on a stale copy and decides again next round", async () => {
    add(scaled("raced", { minReplicas: 1, maxReplicas: 4, targetInFlightPerReplica: 10, windowSeconds: 10 }));
    load.load.set("raced", { inFlight: 30 });
    api.conflictNext = true;
    await autoscaler.tick();
    expect(api.writes).toEqual([]);
    expect(events.recorded).toEqual([]);
    await autoscaler.tick();
    expect(api.writes).toEqual([{ name: "raced", replicas: 3 }]);
  });

  it("leaves alone resources without spec.autoscaling, and those being deleted", async () => {
    add({
      ...scaled("manual", { maxReplicas: 1 }),
      spec: { model: { name: "m", source: "hf://a/b" }, replicas: 2 },
    });
    const going = scaled("going", { minReplicas: 1, maxReplicas: 4, targetInFlightPerReplica: 1 });
    going.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    add(going);
    load.load.set("manual", { inFlight: 100 });
    load.load.set("going", { inFlight: 100 });
    await runFor(20);
    expect(api.writes).toEqual([]);
  });
});

describe("recommendReplicas", () => {
  const settings = (spec: Partial<AutoscalingSpec>) => autoscalingSettings({ maxReplicas: 10, ...spec });
  const average = (inFlight: number, waiting = 0, missing = 0) => ({
    inFlight,
    waiting,
    missing,
    samples: 1,
  });

  it("adds replicas when more than the queue target wait per replica, whatever the in-flight target", () => {
    const queue = settings({ targetInFlightPerReplica: 100, targetQueueDepthPerReplica: 2 });
    expect(recommendReplicas(queue, 1, average(9, 7), false)).toMatchObject({
      replicas: 4,
      why: expect.stringContaining("more than 2 waiting per replica"),
    });
    expect(recommendReplicas(queue, 1, average(2, 2), false).replicas).toBe(1);
    const anyWaiting = settings({ targetInFlightPerReplica: 100, targetQueueDepthPerReplica: 0 });
    expect(recommendReplicas(anyWaiting, 3, average(5, 1), false).replicas).toBe(4);
  });

  it("stays within minReplicas and maxReplicas and goes to zero only with scaleToZero", () => {
    expect(recommendReplicas(settings({ minReplicas: 2 }), 2, average(0), false)).toMatchObject({
      replicas: 2,
      why: expect.stringContaining("kept at minReplicas 2"),
    });
    expect(
      recommendReplicas(settings({ minReplicas: 2, scaleToZero: true }), 2, average(0), false).replicas,
    ).toBe(0);
    expect(
      recommendReplicas(settings({ minReplicas: 2, scaleToZero: true }), 0, average(0), true).replicas,
    ).toBe(2);
    expect(
      recommendReplicas(settings({ minReplicas: 2, scaleToZero: true }), 2, average(0.2), false).replicas,
    ).toBe(2);
  });
});

describe("ScaleDownStabilizer", () => {
  it("waits the delay from the first observation, then takes the highest recommendation of the delay", () => {
    const stabilizer = new ScaleDownStabilizer();
    expect(stabilizer.stabilize(0, 5, 2, 10_000)).toBe(5);
    expect(stabilizer.stabilize(5_000, 5, 3, 10_000)).toBe(5);
    expect(stabilizer.stabilize(10_000, 5, 2, 10_000)).toBe(3);
    expect(stabilizer.stabilize(16_000, 3, 2, 10_000)).toBe(2);
    expect(stabilizer.stabilize(17_000, 2, 7, 10_000)).toBe(7);
  });
});
