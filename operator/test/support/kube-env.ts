import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { type KubeApiServerHandle, kubeToolsDir, startKubeApiServer } from "@strata/kit/testing";
import { KubeClient } from "../../src/kube/kube-client.js";
import { installModelDeploymentCrd } from "../../src/testing/model-deployment-crd.js";

export const examplesDir = fileURLToPath(new URL("../../../deploy/examples", import.meta.url));
export const operatorManifest = fileURLToPath(
  new URL("../../../deploy/operator/operator.yaml", import.meta.url),
);

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubeEnv {
  server: KubeApiServerHandle;
  kubeConfig: KubeConfig;
  /** A client of the product's own kind, for the test's reads and writes (acting as a user or a kubelet). */
  client: KubeClient;
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  /** A fresh namespace, so tests in one file never see each other's objects. */
  namespace(prefix: string): Promise<string>;
  stop(): Promise<void>;
}

/** A real kube-apiserver + etcd with the ModelDeployment CRD (the chart's) installed and established. */
export async function startKubeEnv(): Promise<KubeEnv> {
  const server = await startKubeApiServer();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(server.kubeconfig);
  // Writes as a user (or a kubelet) would, under its own field manager, never the operator's.
  const client = new KubeClient(kubeConfig, { fieldManager: "strata-e2e" });
  const kubectl = (args: string[], input?: string) => runKubectl(server.kubeconfigPath, args, input);
  const env: KubeEnv = {
    server,
    kubeConfig,
    client,
    kubectl,
    async namespace(prefix) {
      const name = `${prefix}-${randomBytes(3).toString("hex")}`;
      await client.create(
        { apiVersion: "v1", kind: "Namespace", plural: "namespaces" },
        {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name },
        },
      );
      return name;
    },
    async stop() {
      client.close();
      await server.stop();
    },
  };
  try {
    await installModelDeploymentCrd(server);
  } catch (error) {
    await env.stop();
    throw error;
  }
  return env;
}

export async function expectOk(result: Promise<KubectlResult>): Promise<string> {
  const { code, stdout, stderr } = await result;
  if (code !== 0) throw new Error(`kubectl failed (${code}): ${stderr || stdout}`);
  return stdout;
}

/**
 * Each call gets an empty discovery cache: kubectl caches the API's resource list for hours, and a cache
 * filled before the CRD existed would make it answer "the server doesn't have a resource type md".
 */
async function runKubectl(kubeconfigPath: string, args: string[], input?: string): Promise<KubectlResult> {
  const cacheDir = await mkdtemp(join(tmpdir(), "strata-kubectl-"));
  try {
    return await spawnKubectl(kubeconfigPath, [`--cache-dir=${cacheDir}`, ...args], input);
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

function spawnKubectl(kubeconfigPath: string, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(`${kubeToolsDir()}/kubectl`, args, {
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

/** Makes the cluster serve ServiceMonitors, as installing the Prometheus Operator would. */
export async function installServiceMonitorCrd(env: Pick<KubeEnv, "kubectl">): Promise<void> {
  await expectOk(env.kubectl(["apply", "-f", "-"], serviceMonitorCrd));
  await expectOk(
    env.kubectl([
      "wait",
      "--for=condition=Established",
      "crd/servicemonitors.monitoring.coreos.com",
      "--timeout=60s",
    ]),
  );
}

/** The smallest ServiceMonitor CRD that makes the API group exist. */
const serviceMonitorCrd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: { kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;
