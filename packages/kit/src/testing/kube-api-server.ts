import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { findBinary } from "./find-binary.js";
import { freePort, waitForPort } from "./free-port.js";
import { stopProcess } from "./spawn-server.js";
import { waitFor } from "./wait-for.js";

export interface KubeApiServerHandle {
  /** https://127.0.0.1:<port> */
  url: string;
  /** A kubeconfig for a cluster admin (group system:masters); kubectl and client libraries accept it. */
  kubeconfigPath: string;
  kubeconfig: string;
  /** Bearer token of that admin. */
  token: string;
  /** Process ids, for stopping a detached server from another process. */
  pids: { etcd: number; apiServer: number };
  stop(): Promise<void>;
}

export interface KubeApiServerOptions {
  /**
   * Folder for etcd's data, certificates and the kubeconfig; it is kept by stop(). Default: a new
   * temporary folder that stop() removes.
   */
  dir?: string;
  /**
   * Leave etcd and kube-apiserver running after this process exits (for manual use, `pnpm k8s:up`):
   * they get their own process group and write their output to `<dir>/etcd.log` and
   * `<dir>/kube-apiserver.log`.
   */
  detached?: boolean;
}

/** Where scripts/install-kube-tools.sh builds kube-apiserver and etcd. */
export function kubeToolsDir(): string {
  return process.env.STRATA_TOOLS_DIR ?? join(homedir(), ".cache", "strata-tools", "bin");
}

/** Both binaries, or undefined when they have not been built on this machine. */
export async function findKubeBinaries(): Promise<{ apiServer: string; etcd: string } | undefined> {
  const dirs = [kubeToolsDir()];
  const [apiServer, etcd] = await Promise.all([findBinary("kube-apiserver", dirs), findBinary("etcd", dirs)]);
  return apiServer && etcd ? { apiServer, etcd } : undefined;
}

/**
 * Starts a real etcd and kube-apiserver on free local ports, the way controller-runtime's envtest does:
 * no nodes, controllers or scheduler, so objects are stored, validated (OpenAPI schemas, CEL rules,
 * admission) and watched for real, but no pod ever runs. Authentication is a static admin token.
 */
export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServerHandle> {
  const binaries = await findKubeBinaries();
  if (!binaries) {
    throw new Error(`kube-apiserver/etcd not found in ${kubeToolsDir()}: run scripts/install-kube-tools.sh`);
  }
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "strata-kube-")));
  await mkdir(dir, { recursive: true });
  const logDir = options.detached ? dir : undefined;
  const processes: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.reverse().map((child) => stopProcess(child, "SIGTERM", 10_000)));
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
  };
  try {
    const etcdUrl = await startEtcd(binaries.etcd, dir, processes, logDir);
    const token = randomBytes(24).toString("hex");
    const port = await freePort();
    await writeApiServerFiles(dir, token);
    processes.push(
      spawnLogged(binaries.apiServer, apiServerArgs(dir, etcdUrl, port), "kube-apiserver", logDir),
    );
    const url = `https://127.0.0.1:${port}`;
    await waitForPort(port, "127.0.0.1", 60_000);
    const ca = await readFile(join(dir, "certs", "apiserver.crt"), "utf8");
    await waitUntilReady(url, token, ca);
    const kubeconfig = kubeconfigFor(url, token, ca);
    const kubeconfigPath = join(dir, "kubeconfig");
    await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 });
    const pids = { etcd: processes[0]?.pid ?? 0, apiServer: processes[1]?.pid ?? 0 };
    return { url, kubeconfigPath, kubeconfig, token, pids, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startEtcd(
  binary: string,
  dir: string,
  processes: ChildProcess[],
  logDir: string | undefined,
): Promise<string> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    `--data-dir=${join(dir, "etcd")}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=default=${peerUrl}`,
    // Tests throw the data away: skip fsync, which dominates etcd's latency on shared disks.
    "--unsafe-no-fsync",
    "--log-level=warn",
  ];
  processes.push(spawnLogged(binary, args, "etcd", logDir));
  await waitForPort(clientPort, "127.0.0.1", 30_000);
  return clientUrl;
}

async function writeApiServerFiles(dir: string, token: string): Promise<void> {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  await Promise.all([
    writeFile(join(dir, "sa.pub"), publicKey),
    writeFile(join(dir, "sa.key"), privateKey, { mode: 0o600 }),
    writeFile(join(dir, "tokens.csv"), `${token},strata-admin,strata-admin,system:masters\n`, {
      mode: 0o600,
    }),
  ]);
}

function apiServerArgs(dir: string, etcdUrl: string, port: number): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    // With no certificate given, kube-apiserver writes a self-signed one (valid for 127.0.0.1) here.
    `--cert-dir=${join(dir, "certs")}`,
    `--token-auth-file=${join(dir, "tokens.csv")}`,
    "--authorization-mode=RBAC",
    `--service-account-key-file=${join(dir, "sa.pub")}`,
    `--service-account-signing-key-file=${join(dir, "sa.key")}`,
    "--service-account-issuer=https://kubernetes.default.svc",
    "--service-cluster-ip-range=10.96.0.0/16",
    "--allow-privileged=true",
    // No controller manager runs, so nothing would create the service-account tokens this plugin wants.
    "--disable-admission-plugins=ServiceAccount",
    "--advertise-address=127.0.0.1",
    "-v=0",
  ];
}

async function waitUntilReady(url: string, token: string, ca: string): Promise<void> {
  const dispatcher = new Agent({ connect: { ca } });
  try {
    await waitFor(
      async () => {
        try {
          const response = await request(`${url}/readyz`, {
            headers: { authorization: `Bearer ${token}` },
            dispatcher,
          });
          await response.body.dump();
          return response.statusCode === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 90_000, intervalMs: 250, message: "kube-apiserver did not become ready" },
    );
  } finally {
    await dispatcher.close();
  }
}

function kubeconfigFor(url: string, token: string, ca: string): string {
  const caData = Buffer.from(ca).toString("base64");
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: strata-test",
    "  cluster:",
    `    server: ${url}`,
    `    certificate-authority-data: ${caData}`,
    "users:",
    "- name: strata-admin",
    "  user:",
    `    token: ${token}`,
    "contexts:",
    "- name: strata-test",
    "  context:",
    "    cluster: strata-test",
    "    user: strata-admin",
    "    namespace: default",
    "current-context: strata-test",
    "",
  ].join("\n");
}

/**
 * Keeps the last output of a child so a failed start-up can say why. With `logDir` the child outlives
 * this process: its own process group, output to `<logDir>/<name>.log` rather than pipes that would
 * close with us.
 */
function spawnLogged(binary: string, args: string[], name: string, logDir?: string): ChildProcess {
  if (logDir !== undefined) {
    const log = openSync(join(logDir, `${name}.log`), "a");
    try {
      const child = spawn(binary, args, { stdio: ["ignore", log, log], detached: true });
      child.unref();
      return child;
    } finally {
      closeSync(log);
    }
  }
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(chunk.toString());
    if (tail.length > 50) tail.shift();
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.once("exit", (code, signal) => {
    if (code !== 0 && signal !== "SIGTERM" && signal !== "SIGKILL") {
      process.stderr.write(`${name} exited (${code ?? signal}):\n${tail.join("")}\n`);
    }
  });
  return child;
}
