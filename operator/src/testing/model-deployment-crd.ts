import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type KubeApiServerHandle, kubeToolsDir } from "@strata/kit/testing";
import { crdManifestPath } from "../crd/crd-manifest.js";

const run = promisify(execFile);

/**
 * Installs the ModelDeployment CRD into a test API server from the manifest the chart ships (so tests
 * install exactly what users install) and returns once the CRD is established and the API serves it.
 */
export async function installModelDeploymentCrd(
  kube: Pick<KubeApiServerHandle, "kubeconfigPath">,
): Promise<void> {
  // A discovery cache of its own: kubectl keeps one per host:port for hours, and test API servers
  // reuse ports.
  const cacheDir = await mkdtemp(join(tmpdir(), "strata-kubectl-"));
  const kubectl = (args: string[]) =>
    run(`${kubeToolsDir()}/kubectl`, [
      `--kubeconfig=${kube.kubeconfigPath}`,
      `--cache-dir=${cacheDir}`,
      ...args,
    ]);
  try {
    await kubectl(["apply", "-f", crdManifestPath]);
    await kubectl([
      "wait",
      "--for=condition=Established",
      "crd/modeldeployments.strata.dev",
      "--timeout=60s",
    ]);
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}
