import { loadEngineSimOptions, startEngineSim } from "@strata/engine-sim";
import { eventually, findKubeBinaries } from "@strata/kit/testing";
import { describe, expect, it } from "vitest";
import { hostIPv4Address } from "../src/testing/host-address.js";
import {
  createEnginePod,
  createModelDeployment,
  eventsFor,
  getModelDeployment,
  publishEndpoints,
  setDeploymentStatus,
  setPodStatus,
  waitForObject,
} from "./support/fixtures.js";
import { expectOk } from "./support/kube-env.js";
import { useOperatorSuite } from "./support/operator-harness.js";

const binaries = await findKubeBinaries();
// The API server runs on a shared, loaded machine: waits are generous, assertions exact.
const slow = { timeoutMs: 60_000, intervalMs: 200 };

describe.skipIf(!binaries)("ModelDeployment status on a real kube-apiserver", () => {
  const kube = useOperatorSuite("status");

  it("reports readiness, rollout and pod trouble from pods and EndpointSlices", async () => {
    const md = await createModelDeployment(kube.client, kube.namespace, "status", {
      model: { name: "status-model", source: "hf://acme/status" },
      engine: { kind: "sim" },
      replicas: 2,
    });
    const deployment = await waitForObject(kube.client, "deployment", kube.namespace, "status", slow);
    const condition = async (type: string) => {
      const current = await getModelDeployment(kube.client, kube.namespace, "status");
      return current?.status?.conditions?.find((entry) => entry.type === type);
    };
    await eventually(async () => {
      expect(await condition("Available")).toMatchObject({ status: "False", reason: "NoReadyEndpoints" });
      expect(await condition("Progressing")).toMatchObject({ status: "True" });
    }, slow);

    // A real engine-sim, started with the exact command line the operator put in the pod template. The
    // API server refuses loopback addresses in EndpointSlices, so it listens on the machine's own address.
    const host = hostIPv4Address();
    if (!host) throw new Error("this test needs a non-loopback IPv4 address to publish in an EndpointSlice");
    const args = [...deployment.spec.template.spec.containers[0].args] as string[];
    args[args.indexOf("--host") + 1] = host;
    args[args.indexOf("--port") + 1] = "0";
    const engine = await startEngineSim({ ...loadEngineSimOptions(args, {}), logLevel: "silent" });
    // Playing the Deployment and EndpointSlice controllers: pod status-a is ready, status-b as given.
    const reportReadiness = async (secondReady: boolean) => {
      const ready = secondReady ? 2 : 1;
      await setDeploymentStatus(kube.client, kube.namespace, "status", {
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: ready,
        availableReplicas: ready,
      });
      await publishEndpoints(kube.client, md, [
        { ip: host, port: engine.port, ready: true, pod: "status-a" },
        { ip: "192.0.2.250", port: engine.port, ready: secondReady, pod: "status-b" },
      ]);
    };
    try {
      // Playing kubelet and controllers: one pod ready, one crash-looping; the Deployment half available.
      await createEnginePod(kube.client, md, "status-a", {
        phase: "Running",
        conditions: [{ type: "Ready", status: "True" }],
        containerStatuses: [
          { name: "engine", ready: true, restartCount: 0, image: "x", imageID: "", state: { running: {} } },
        ],
      });
      await createEnginePod(kube.client, md, "status-b", {
        phase: "Running",
        containerStatuses: [
          {
            name: "engine",
            ready: false,
            restartCount: 4,
            image: "x",
            imageID: "",
            state: {
              waiting: { reason: "CrashLoopBackOff", message: "back-off 1m20s restarting failed container" },
            },
            lastState: { terminated: { exitCode: 1, reason: "Error" } },
          },
        ],
      });
      await reportReadiness(false);
      await eventually(async () => {
        const current = await getModelDeployment(kube.client, kube.namespace, "status");
        expect(current?.status).toMatchObject({
          replicas: 2,
          readyReplicas: 1,
          readyText: "1/2",
          selector: "app.kubernetes.io/managed-by=strata-operator,strata.dev/model-deployment=status",
          endpoints: [
            { name: "status-a", url: `http://${host}:${engine.port}`, ready: true },
            { name: "status-b", url: `http://192.0.2.250:${engine.port}`, ready: false },
          ],
        });
        expect(await condition("Available")).toMatchObject({
          status: "True",
          reason: "EndpointsReady",
          message: "1 of 2 replicas ready to serve status-model",
        });
        expect(await condition("Degraded")).toMatchObject({
          status: "True",
          reason: "CrashLoopBackOff",
          message:
            "the engine in pod status-b keeps exiting (last exit code 1, Error), restarted 4 times. " +
            "See kubectl logs status-b -c engine --previous. (1 of 2 pods)",
        });
        expect(await condition("Progressing")).toMatchObject({
          status: "True",
          reason: "RollingOut",
          message: "waiting for 1 replicas to become available",
        });
      }, slow);

      // The endpoint in the status is the engine the operator's command line started.
      const current = await getModelDeployment(kube.client, kube.namespace, "status");
      const models = (await (await fetch(`${current?.status?.endpoints?.[0]?.url}/v1/models`)).json()) as {
        data: Array<{ id: string }>;
      };
      expect(models.data.map((model) => model.id)).toEqual(["status-model"]);

      // Recovery: the pod comes up, the rollout completes.
      await setPodStatus(kube.client, kube.namespace, "status-b", {
        containerStatuses: [
          { name: "engine", ready: true, restartCount: 4, image: "x", imageID: "", state: { running: {} } },
        ],
      });
      await reportReadiness(true);
      await eventually(async () => {
        expect(await condition("Degraded")).toMatchObject({ status: "False", reason: "AsExpected" });
        expect(await condition("Progressing")).toMatchObject({ status: "False", reason: "RolloutComplete" });
        expect(await condition("Available")).toMatchObject({
          message: "2 of 2 replicas ready to serve status-model",
        });
      }, slow);
      const printed = await expectOk(kube.kubectl(["get", "md", "status", "-n", kube.namespace]));
      expect(printed).toMatch(/^NAME\s+MODEL\s+ENGINE\s+READY\s+AVAILABLE\s+AGE$/m);
      expect(printed).toMatch(/^status\s+status-model\s+sim\s+2\/2\s+True\s+/m);
      await eventually(async () => {
        const reasons = (await eventsFor(kube.client, kube.namespace, "status")).map((event) => event.reason);
        expect(reasons).toEqual(
          expect.arrayContaining(["CrashLoopBackOff", "Available", "Recovered", "RolloutComplete"]),
        );
      }, slow);
    } finally {
      await engine.close();
    }
  }, 180_000);
});

it.skipIf(binaries !== undefined)(
  "operator tests need kube-apiserver and etcd: run scripts/install-kube-tools.sh",
  () => {},
);
