/**
 * Autoscaling against a real kube-apiserver, with a real engine-sim as the load: requests held open on
 * it raise spec.replicas (written through the scale subresource) and the Deployment follows; when they
 * end, the replicas go back down, to zero for a resource that allows it. No kubelet runs, so the test
 * publishes the engine's EndpointSlice itself; EndpointSlices refuse loopback addresses, so the engine
 * listens on this machine's first non-loopback IPv4 address.
 */
import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { eventually, findKubeBinaries } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningOperator } from "../src/run.js";
import { hostIPv4Address } from "../src/testing/host-address.js";
import {
  createModelDeployment,
  eventsFor,
  getModelDeployment,
  getObject,
  publishEndpoints,
} from "./support/fixtures.js";
import { expectOk, type KubeEnv, startKubeEnv } from "./support/kube-env.js";
import { metricTotal, startOperator } from "./support/operator-harness.js";

const binaries = await findKubeBinaries();
const slow = { timeoutMs: 90_000, intervalMs: 250 };

describe.skipIf(!binaries)("autoscaling on a real kube-apiserver", () => {
  let env: KubeEnv;
  let namespace: string;
  let operator: RunningOperator;
  let engine: EngineSim;
  let host: string;
  const requests = new AbortController();

  beforeAll(async () => {
    const address = hostIPv4Address();
    if (!address)
      throw new Error("this test needs a non-loopback IPv4 address to publish in an EndpointSlice");
    host = address;
    env = await startKubeEnv();
    namespace = await env.namespace("autoscale");
    operator = await startOperator(env, namespace, { autoscaling: { syncSeconds: 0.25 } });
    // Slow decoding and two sequences at a time: requests held open are load the engine reports.
    engine = await startEngineSim({
      host,
      port: 0,
      model: "scaled-model",
      maxNumSeqs: 2,
      decodeMsPerToken: 200,
      logLevel: "silent",
      shutdownGraceMs: 0,
    });
  }, 180_000);

  afterAll(async () => {
    requests.abort();
    await engine?.close();
    await operator?.close();
    await env?.stop();
  }, 60_000);

  const replicas = async () => {
    const md = await getModelDeployment(env.client, namespace, "scaled");
    const deployment = await getObject(env.client, "deployment", namespace, "scaled");
    return { spec: md?.spec.replicas, deployment: deployment?.spec.replicas as number | undefined };
  };

  it("follows the load the engines report, up at once and down to zero after the delay", async () => {
    const md = await createModelDeployment(env.client, namespace, "scaled", {
      model: { name: "scaled-model", source: "hf://acme/scaled" },
      engine: { kind: "sim" },
      autoscaling: {
        minReplicas: 1,
        maxReplicas: 3,
        targetInFlightPerReplica: 2,
        windowSeconds: 10,
        scaleDownDelaySeconds: 3,
        scaleToZero: true,
      },
    });
    await eventually(async () => {
      expect(await replicas()).toEqual({ spec: undefined, deployment: 1 });
      // The slice takes the Service's labels (as the EndpointSlice controller copies them).
      expect(await getObject(env.client, "service", namespace, "scaled")).toBeDefined();
    }, slow);
    await publishEndpoints(env.client, md, [{ ip: host, port: engine.port, ready: true, pod: "scaled-a" }]);
    await eventually(async () => {
      const current = await getModelDeployment(env.client, namespace, "scaled");
      expect(current?.status?.endpoints).toEqual([{ name: "scaled-a", url: engine.url, ready: true }]);
    }, slow);

    // Six requests in flight at a target of two per replica: three replicas, the maximum.
    for (let index = 0; index < 6; index++) {
      void fetch(`${engine.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "scaled-model",
          prompt: `hold ${index}`,
          max_tokens: 2000,
          stream: true,
        }),
        signal: requests.signal,
      }).catch(() => {});
    }
    await eventually(async () => expect(await replicas()).toEqual({ spec: 3, deployment: 3 }), slow);
    expect(
      await metricTotal(operator, "strata_operator_autoscale_desired_replicas", { name: "scaled" }),
    ).toBe(3);

    // The clients go away; once the window holds no load and the delay has passed, no replica is left.
    requests.abort();
    await eventually(async () => expect(await replicas()).toEqual({ spec: 0, deployment: 0 }), slow);
    const reasons = (await eventsFor(env.client, namespace, "scaled")).map((event) => event.reason);
    expect(reasons).toEqual(expect.arrayContaining(["Autoscaled", "ScaledToZero", "Scaled"]));
    const described = await expectOk(env.kubectl(["describe", "md", "scaled", "-n", namespace]));
    expect(described).toMatch(
      /ScaledToZero\s+.*scaled from \d to 0 replicas: no requests in flight or waiting/,
    );
    expect(
      await metricTotal(operator, "strata_operator_autoscale_decisions_total", { direction: "to_zero" }),
    ).toBe(1);
  }, 240_000);

  it("lets the scale subresource set 0 replicas only where scaleToZero allows it", async () => {
    await createModelDeployment(env.client, namespace, "bounded", {
      model: { name: "bounded-model", source: "hf://acme/bounded" },
      engine: { kind: "sim" },
      autoscaling: { minReplicas: 1, maxReplicas: 2, scaleDownDelaySeconds: 600 },
    });
    const refused = await env.kubectl(["scale", "md/bounded", "-n", namespace, "--replicas=0"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      "spec.replicas must lie within spec.autoscaling.minReplicas..maxReplicas",
    );
    await expectOk(env.kubectl(["scale", "md/bounded", "-n", namespace, "--replicas=2"]));
    await eventually(async () => {
      const deployment = await getObject(env.client, "deployment", namespace, "bounded");
      expect(deployment?.spec.replicas).toBe(2);
    }, slow);
    // Without load the autoscaler waits the long delay before taking the second replica back.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await getModelDeployment(env.client, namespace, "bounded"))?.spec.replicas).toBe(2);
  }, 120_000);
});

it.skipIf(binaries !== undefined)(
  "autoscaling tests need kube-apiserver and etcd: run scripts/install-kube-tools.sh",
  () => {},
);
