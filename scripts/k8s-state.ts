/** Where `pnpm k8s:up` keeps the manual test API server, and how its processes are told apart. */
import { readFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("..", import.meta.url));
export const clusterDir = join(repoRoot, ".strata", "k8s");
export const kubeconfigPath = join(clusterDir, "kubeconfig");
const stateFile = join(clusterDir, "pids.json");

export interface ClusterState {
  url: string;
  pids: { etcd: number; apiServer: number };
}

export async function readClusterState(): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile, "utf8")) as ClusterState;
  } catch {
    return undefined;
  }
}

export async function writeClusterState(state: ClusterState): Promise<void> {
  await writeFile(stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

export async function removeClusterDir(): Promise<void> {
  await rm(clusterDir, { recursive: true, force: true });
}

/**
 * Whether `pid` is alive and still the program we started: after a reboot the id may belong to
 * something else, which must never be signalled. Where /proc is missing the pid file is trusted.
 */
export function isOurProcess(pid: number, binary: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
    return command.endsWith(`/${binary}`) || command === binary;
  } catch {
    return process.platform !== "linux";
  }
}

export const printStop = "Stop it with: pnpm k8s:down";
