/** `pnpm k8s:down`: stops the API server `pnpm k8s:up` started and removes its data. */
import { setTimeout as sleep } from "node:timers/promises";
import { clusterDir, isOurProcess, readClusterState, removeClusterDir } from "./k8s-state.js";

/** kube-apiserver first, so nothing writes to etcd while it shuts down. */
async function main(): Promise<void> {
  const state = await readClusterState();
  if (!state) {
    process.stdout.write(`No test API server is recorded in ${clusterDir}.\n`);
    return;
  }
  await stop(state.pids.apiServer, "kube-apiserver");
  await stop(state.pids.etcd, "etcd");
  await removeClusterDir();
  process.stdout.write(`Stopped the test API server at ${state.url} and removed ${clusterDir}.\n`);
}

async function stop(pid: number, binary: string): Promise<void> {
  if (!isOurProcess(pid, binary)) return;
  process.kill(pid, "SIGTERM");
  for (let waited = 0; waited < 10_000; waited += 100) {
    if (!isOurProcess(pid, binary)) return;
    await sleep(100);
  }
  process.stderr.write(`${binary} (${pid}) did not stop within 10 s; killing it\n`);
  process.kill(pid, "SIGKILL");
}

main().catch((error: unknown) => {
  process.stderr.write(`k8s:down failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
