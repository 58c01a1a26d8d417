/**
 * `pnpm k8s:up`: a real etcd + kube-apiserver (no nodes, no controllers) for trying the operator and
 * the router by hand. It keeps running after this command exits; `pnpm k8s:down` stops it.
 */
import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { findBinary, findKubeBinaries, kubeToolsDir, startKubeApiServer } from "@strata/kit/testing";
import {
  clusterDir,
  isOurProcess,
  kubeconfigPath,
  printStop,
  readClusterState,
  removeClusterDir,
  repoRoot,
  writeClusterState,
} from "./k8s-state.js";

const run = promisify(execFile);
const crdPath = join(repoRoot, "charts", "strata", "crds", "modeldeployment.yaml");

async function main(): Promise<void> {
  const running = await readClusterState();
  if (
    running &&
    isOurProcess(running.pids.apiServer, "kube-apiserver") &&
    isOurProcess(running.pids.etcd, "etcd")
  ) {
    process.stdout.write(`The test API server is already running at ${running.url}.\n`);
    printUsage();
    return;
  }
  if (!(await findKubeBinaries())) {
    process.stderr.write(
      `kube-apiserver and etcd are not built in ${kubeToolsDir()}: run scripts/install-kube-tools.sh\n`,
    );
    process.exit(1);
  }
  // Left over from a run that did not stop cleanly (its processes are gone): start afresh.
  await removeClusterDir();
  const server = await startKubeApiServer({ dir: clusterDir, detached: true });
  await writeClusterState({ url: server.url, pids: server.pids });
  process.stdout.write(`Started kube-apiserver at ${server.url} (logs in ${clusterDir}).\n`);
  await applyCrd();
  printUsage();
}

async function applyCrd(): Promise<void> {
  const kubectl = await findKubectl();
  if (!kubectl) {
    process.stderr.write(
      `kubectl not found (scripts/install-kube-tools.sh builds it): apply ${crdPath} yourself.\n`,
    );
    return;
  }
  const env = { ...process.env, KUBECONFIG: kubeconfigPath };
  await run(kubectl, ["apply", "-f", crdPath], { env });
  await run(
    kubectl,
    ["wait", "--for=condition=Established", "crd/modeldeployments.strata.dev", "--timeout=60s"],
    {
      env,
    },
  );
  process.stdout.write("Applied the ModelDeployment CRD (modeldeployments.strata.dev).\n");
}

/** The kubectl built with the server, at its version, before any other on PATH. */
async function findKubectl(): Promise<string | undefined> {
  const built = join(kubeToolsDir(), "kubectl");
  try {
    await access(built, constants.X_OK);
    return built;
  } catch {
    return findBinary("kubectl");
  }
}

function printUsage(): void {
  process.stdout.write(`\nexport KUBECONFIG=${kubeconfigPath}\n\n${printStop}\n`);
}

main().then(
  // The servers run in their own process group; nothing of this process needs to stay.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`k8s:up failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
