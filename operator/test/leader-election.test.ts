import { silentLogger } from "@strata/kit";
import { eventually, findKubeBinaries, waitFor } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningOperator, run } from "../src/run.js";
import { createModelDeployment, getObject } from "./support/fixtures.js";
import { type KubeEnv, startKubeEnv } from "./support/kube-env.js";

const binaries = await findKubeBinaries();
const slow = { timeoutMs: 90_000, intervalMs: 100 };

describe.skipIf(!binaries)("leader election over a Lease", () => {
  let env: KubeEnv;
  let namespace: string;
  const operators: RunningOperator[] = [];

  beforeAll(async () => {
    env = await startKubeEnv();
    namespace = await env.namespace("election");
  }, 180_000);

  afterAll(async () => {
    await Promise.all(operators.map((operator) => operator.close()));
    await env?.stop();
  }, 60_000);

  const start = async (identity: string) => {
    const operator = await run(
      {
        namespace,
        ops: { host: "127.0.0.1", port: 0 },
        // Short timings so a takeover happens within seconds; the renew deadline stays below the lease.
        leaderElection: {
          namespace,
          identity,
          leaseDurationSeconds: 4,
          renewDeadlineSeconds: 3,
          retryPeriodSeconds: 0.5,
        },
      },
      { kubeConfig: env.kubeConfig, logger: silentLogger() },
    );
    operators.push(operator);
    return operator;
  };
  const lease = () =>
    env.client.get<{ metadata: { name: string }; spec: Record<string, unknown> }>(
      { apiVersion: "coordination.k8s.io/v1", kind: "Lease", plural: "leases" },
      namespace,
      "strata-operator",
    );

  it("lets one replica reconcile at a time and hands over when the leader goes away", async () => {
    const first = await start("replica-a");
    await waitFor(() => first.isLeader(), { ...slow, message: "replica-a to lead" });
    const second = await start("replica-b");
    // Watch for the one thing that must never happen: two leaders at once.
    let overlap = false;
    const sampler = setInterval(() => {
      if (first.isLeader() && second.isLeader()) overlap = true;
    }, 20);
    try {
      await createModelDeployment(env.client, namespace, "one", {
        model: { name: "one", source: "hf://acme/one" },
        engine: { kind: "sim" },
      });
      await eventually(
        async () => expect(await getObject(env.client, "deployment", namespace, "one")).toBeDefined(),
        slow,
      );
      expect(second.isLeader()).toBe(false);
      expect((await lease())?.spec.holderIdentity).toBe("replica-a");

      // The leader dies without handing the Lease back: the standby waits out the lease, then takes over.
      const crashed = Date.now();
      await first.close({ releaseLease: false });
      await waitFor(() => second.isLeader(), { ...slow, message: "replica-b to take over" });
      expect(Date.now() - crashed).toBeGreaterThanOrEqual(3_000);
      expect((await lease())?.spec).toMatchObject({ holderIdentity: "replica-b", leaseTransitions: 1 });
      await createModelDeployment(env.client, namespace, "two", {
        model: { name: "two", source: "hf://acme/two" },
        engine: { kind: "sim" },
      });
      await eventually(
        async () => expect(await getObject(env.client, "deployment", namespace, "two")).toBeDefined(),
        slow,
      );

      // A leader that shuts down cleanly releases the Lease, so a standby takes over without waiting.
      const third = await start("replica-c");
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(third.isLeader()).toBe(false);
      await second.close();
      await waitFor(() => third.isLeader(), { ...slow, message: "replica-c to take over" });
      expect((await lease())?.spec).toMatchObject({ holderIdentity: "replica-c", leaseTransitions: 2 });
      expect(await third.registry.getSingleMetric("strata_operator_leader")?.get()).toMatchObject({
        values: [{ value: 1 }],
      });
    } finally {
      clearInterval(sampler);
    }
    expect(overlap).toBe(false);
  }, 240_000);
});

it.skipIf(binaries !== undefined)(
  "leader election tests need kube-apiserver and etcd: run scripts/install-kube-tools.sh",
  () => {},
);
