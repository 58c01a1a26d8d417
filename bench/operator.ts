/**
 * How fast and how frugally does the operator converge? 200 ModelDeployments are created against a real
 * kube-apiserver + etcd (the test harness's), and the benchmark measures the time until every one has its
 * children (Deployment, Service, PodDisruptionBudget) and an accurate status (observedGeneration current,
 * 1/1 ready, Available, RolloutComplete, its endpoint listed), and how many API requests the operator
 * made per resource. The baseline, in the same run, is the raw cost of the 200 creates alone with no
 * operator running.
 *
 * No kubelet or controller runs next to the API server, so the benchmark plays them: as each engine
 * Deployment appears it writes the Deployment's status as ready and publishes an EndpointSlice for its
 * Service (the writes a cluster's controllers would make; they are not the operator's and not counted
 * as such). The operator runs in a process of its own, as it does in a cluster, with leader election
 * off (a Lease renewal every 2 s is not per-resource work) and a 10 s resync so the run also shows what
 * a full resync of converged objects costs: the requests it sends, and the objects it changes (none
 * should change: server-side apply of an unchanged object is a no-op that keeps its resourceVersion).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { loadavg } from "node:os";
import { join } from "node:path";
import { freePort, type KubeApiServerHandle, startKubeApiServer, waitFor } from "@strata/kit/testing";
import { KubeClient, type KubeObject, type ModelDeployment, resourceTypes } from "@strata/operator";
import { installModelDeploymentCrd } from "@strata/operator/testing";
import { processCpuUs } from "./lib/proc-stats.js";
import { benchDir, environment, updateResultsMarkdown, writeJson } from "./lib/report.js";
import { productRuntime } from "./lib/server-process.js";

const count = Number(process.env.BENCH_OPERATOR_COUNT ?? 200);
/** Creates in flight at once, as a CI pipeline applying many manifests would send them. */
const concurrency = Number(process.env.BENCH_OPERATOR_CONCURRENCY ?? 16);
const pollMs = 250;
const resyncSeconds = 10;
const timeoutMs = 10 * 60_000;

type Loose = KubeObject & Record<string, any>;

export async function main(): Promise<void> {
  const loadAverage1m = Math.round(loadavg()[0]! * 100) / 100;
  const kube = await startKubeApiServer();
  const client = KubeClient.fromKubeconfig(kube.kubeconfig, { fieldManager: "bench" });
  let operator: OperatorProcess | undefined;
  try {
    await installModelDeploymentCrd(kube);
    for (const namespace of ["baseline", "bench"]) {
      await client.create({ apiVersion: "v1", kind: "Namespace", plural: "namespaces" }, {
        metadata: { name: namespace },
      } as KubeObject);
    }
    // The first writes of a new CRD pay for compiling its schema and rules; neither run should.
    await inPool(["warm-0", "warm-1", "warm-2"], concurrency, (name) =>
      createModelDeployment(client, "baseline", name),
    );
    console.log(`baseline: ${count} creates, ${concurrency} at a time, no operator running`);
    const baselineStart = performance.now();
    await inPool(names(), concurrency, (name) => createModelDeployment(client, "baseline", name));
    const baselineMs = performance.now() - baselineStart;

    operator = await startOperatorProcess(kube, "bench");
    const cpuBefore = await operator.cpuUs();
    console.log(`operator: ${count} creates, then waiting for children and status`);
    const run = await convergeAll(client);
    const converged = await operator.requests();
    const cpuUs = (await operator.cpuUs()) - cpuBefore;
    // Past a resync period every converged object has been reconciled again: that pass should change nothing.
    await sleep(2_000);
    const before = { requests: await operator.requests(), versions: await versions(client) };
    await sleep((resyncSeconds + 2) * 1000);
    const after = { requests: await operator.requests(), versions: await versions(client) };
    const resync = {
      reconciles: after.requests.reconciles - before.requests.reconciles,
      requests: difference(after.requests.byVerb, before.requests.byVerb),
      changedObjects: [...after.versions].filter(([key, version]) => before.versions.get(key) !== version)
        .length,
    };
    const results = summarize(baselineMs, run, converged, resync, cpuUs, loadAverage1m);
    const file = await writeJson("operator", results);
    await updateResultsMarkdown("operator", section(results));
    console.log(JSON.stringify(results.summary, null, 2));
    console.log(`wrote ${file} and ${join(benchDir, "RESULTS.md")}`);
  } finally {
    await operator?.stop();
    client.close();
    await kube.stop();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** resourceVersion of every object the benchmark's ModelDeployments consist of, by kind/name. */
async function versions(client: KubeClient): Promise<Map<string, string>> {
  const kinds = ["modelDeployment", "deployment", "service", "podDisruptionBudget"] as const;
  const lists = await Promise.all(kinds.map((kind) => client.list<Loose>(resourceTypes[kind], "bench")));
  return new Map(
    lists.flatMap((list, index) =>
      list.items.map((item) => [
        `${kinds[index]}/${item.metadata.name}`,
        item.metadata.resourceVersion ?? "",
      ]),
    ),
  );
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([verb, value]) => [verb, value - (before[verb] ?? 0)] as const)
      .filter(([, value]) => value > 0),
  );
}

function names(): string[] {
  return Array.from({ length: count }, (_, index) => `md-${String(index).padStart(3, "0")}`);
}

function createModelDeployment(client: KubeClient, namespace: string, name: string) {
  return client.create(resourceTypes.modelDeployment, {
    apiVersion: "strata.dev/v1alpha1",
    kind: "ModelDeployment",
    metadata: { name, namespace },
    spec: {
      model: { name: `model-${name}`, source: "hf://strata/sim-llama" },
      engine: { kind: "sim" },
      replicas: 1,
      routing: { price: { inputPerMillion: 1, outputPerMillion: 2 } },
    },
  } as ModelDeployment);
}

interface ConvergeRun {
  createMs: number;
  convergedMs: number;
  /** Per resource: from its create's answer to the first poll that saw it converged. */
  latenciesMs: number[];
  kubeletWrites: number;
}

/** Creates every ModelDeployment and plays kubelet until each has its children and an accurate status. */
async function convergeAll(client: KubeClient): Promise<ConvergeRun> {
  const createdAt = new Map<string, number>();
  const convergedAt = new Map<string, number>();
  const kubelet = new Kubelet(client);
  const start = performance.now();
  let createMs = 0;
  const creating = inPool(names(), concurrency, async (name) => {
    await createModelDeployment(client, "bench", name);
    createdAt.set(name, performance.now());
  }).then(() => {
    createMs = performance.now() - start;
  });
  while (convergedAt.size < count) {
    if (performance.now() - start > timeoutMs) {
      throw new Error(`only ${convergedAt.size} of ${count} converged within ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    const [mds, deployments, services, budgets] = await Promise.all(
      (["modelDeployment", "deployment", "service", "podDisruptionBudget"] as const).map((kind) =>
        client.list<Loose>(resourceTypes[kind], "bench").then((list) => byName(list.items)),
      ),
    );
    await kubelet.play(deployments!, services!);
    const now = performance.now();
    for (const [name, md] of mds!) {
      if (convergedAt.has(name) || !createdAt.has(name)) continue;
      if (deployments!.has(name) && services!.has(name) && budgets!.has(name) && statusIsAccurate(md)) {
        convergedAt.set(name, now);
      }
    }
  }
  await creating;
  const latenciesMs = [...convergedAt].map(([name, at]) => at - createdAt.get(name)!);
  return { createMs, convergedMs: performance.now() - start, latenciesMs, kubeletWrites: kubelet.writes };
}

function statusIsAccurate(md: Loose): boolean {
  const status = md.status ?? {};
  const condition = (type: string) => status.conditions?.find((entry: Loose) => entry.type === type);
  return (
    status.observedGeneration === md.metadata.generation &&
    status.readyReplicas === 1 &&
    status.readyText === "1/1" &&
    status.endpoints?.length === 1 &&
    status.endpoints[0].ready === true &&
    condition("Available")?.status === "True" &&
    condition("Progressing")?.reason === "RolloutComplete" &&
    condition("Degraded")?.status === "False"
  );
}

/** What the Deployment controller, kubelet and EndpointSlice controller would write for a ready replica. */
class Kubelet {
  writes = 0;
  private readonly done = new Set<string>();
  private nextAddress = 0;

  constructor(private readonly client: KubeClient) {}

  async play(deployments: Map<string, Loose>, services: Map<string, Loose>): Promise<void> {
    const ready = [...deployments.values()].filter(
      (deployment) => !this.done.has(deployment.metadata.name) && services.has(deployment.metadata.name),
    );
    await inPool(ready, concurrency, async (deployment) => {
      const { name, generation } = deployment.metadata;
      this.done.add(name);
      const replicas = { replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 };
      await this.client.mergePatch(
        resourceTypes.deployment,
        "bench",
        name,
        { status: { observedGeneration: generation, ...replicas } },
        "status",
      );
      const index = this.nextAddress++;
      await this.client.create(resourceTypes.endpointSlice, {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: `${name}-slice`,
          namespace: "bench",
          labels: { ...services.get(name)!.metadata.labels, "kubernetes.io/service-name": name },
        },
        addressType: "IPv4",
        ports: [{ name: "http", port: 8000, protocol: "TCP" }],
        endpoints: [
          {
            addresses: [`10.${Math.floor(index / 250)}.${index % 250}.10`],
            conditions: { ready: true },
            targetRef: { kind: "Pod", name: `${name}-0`, namespace: "bench" },
          },
        ],
      } as KubeObject);
      this.writes += 2;
    });
  }
}

interface OperatorProcess {
  cpuUs(): Promise<number>;
  /** strata_operator_kube_requests_total by verb, and the watch events received. */
  requests(): Promise<{
    byVerb: Record<string, number>;
    byCode: Record<string, number>;
    watchEvents: number;
    reconciles: number;
  }>;
  stop(): Promise<void>;
}

async function startOperatorProcess(kube: KubeApiServerHandle, namespace: string): Promise<OperatorProcess> {
  const port = await freePort();
  const entry = join(benchDir, "..", "operator", "src", "main.ts");
  const child: ChildProcess = spawn(process.execPath, [...productRuntime, entry], {
    env: {
      ...process.env,
      KUBECONFIG: kube.kubeconfigPath,
      STRATA_OPERATOR_NAMESPACE: namespace,
      STRATA_OPERATOR_OPS_HOST: "127.0.0.1",
      STRATA_OPERATOR_OPS_PORT: String(port),
      STRATA_OPERATOR_LEADER_ELECTION: "false",
      STRATA_OPERATOR_RESYNC_SECONDS: String(resyncSeconds),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    await once(child, "exit");
  };
  try {
    await waitFor(
      async () => /^strata_operator_leader(\{[^}]*\})? 1$/m.test(await metrics().catch(() => "")),
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        message: "the operator process to start leading",
      },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    cpuUs: () => processCpuUs(child.pid!),
    async requests() {
      const text = await metrics();
      const byVerb: Record<string, number> = {};
      const byCode: Record<string, number> = {};
      for (const match of text.matchAll(/^strata_operator_kube_requests_total\{(.*)\} (\S+)$/gm)) {
        const verb = /verb="([^"]+)"/.exec(match[1]!)?.[1] ?? "?";
        const code = /code="([^"]+)"/.exec(match[1]!)?.[1] ?? "?";
        const value = Number(match[2]);
        byVerb[verb] = (byVerb[verb] ?? 0) + value;
        byCode[code] = (byCode[code] ?? 0) + value;
      }
      const watchEvents = [...text.matchAll(/^strata_operator_watch_events_total\{.*\} (\S+)$/gm)].reduce(
        (sum, match) => sum + Number(match[1]),
        0,
      );
      const reconciles = [...text.matchAll(/^strata_operator_reconcile_total\{.*\} (\S+)$/gm)].reduce(
        (sum, match) => sum + Number(match[1]),
        0,
      );
      return { byVerb, byCode, watchEvents, reconciles };
    },
    stop,
  };
}

async function inPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function byName(items: Loose[]): Map<string, Loose> {
  return new Map(items.map((item) => [item.metadata.name, item]));
}

type Requests = Awaited<ReturnType<OperatorProcess["requests"]>>;

function summarize(
  baselineMs: number,
  run: ConvergeRun,
  converged: Requests,
  resync: { reconciles: number; requests: Record<string, number>; changedObjects: number },
  cpuUs: number,
  loadAverage1m: number,
) {
  const sorted = [...run.latenciesMs].sort((a, b) => a - b);
  const percentile = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  const total = Object.values(converged.byVerb).reduce((sum, value) => sum + value, 0);
  const perResource = (counts: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(counts)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, value]) => [key, round(value / count, 2)]),
    );
  return {
    ...environment(),
    loadAverage1m,
    settings: { count, concurrency, pollMs, resyncSeconds },
    summary: {
      baselineCreateAllMs: round(baselineMs),
      createAllMs: round(run.createMs),
      convergeAllMs: round(run.convergedMs),
      convergeVsBaseline: round(run.convergedMs / baselineMs, 2),
      perResourceMs: { p50: round(percentile(50)), p90: round(percentile(90)), p99: round(percentile(99)) },
      operatorRequests: total,
      operatorRequestsPerResource: round(total / count, 2),
      operatorRequestsPerResourceByVerb: perResource(converged.byVerb),
      operatorRequestsPerResourceByCode: perResource(converged.byCode),
      watchEventsPerResource: round(converged.watchEvents / count, 2),
      operatorCpuMsPerResource: round(cpuUs / 1000 / count, 2),
      resyncReconciles: resync.reconciles,
      resyncRequestsPerReconcile: Object.fromEntries(
        Object.entries(resync.requests).map(([verb, value]) => [
          verb,
          round(value / Math.max(1, resync.reconciles), 2),
        ]),
      ),
      resyncChangedObjects: resync.changedObjects,
      kubeletWritesPerResource: round(run.kubeletWrites / count, 2),
    },
  };
}

function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function section(results: ReturnType<typeof summarize>): string {
  const s = results.summary;
  const list = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([key, value]) => `${key} ${value}`)
      .join(", ");
  return `## operator

\`pnpm bench operator\` — ${results.date}, commit ${results.commit}, Node ${results.node}, ${results.cpuCount}× ${results.cpuModel},
load average ${results.loadAverage1m} when it started (a shared machine: compare within this run).

${count} ModelDeployments (engine sim, 1 replica, a price) created ${concurrency} at a time against a real kube-apiserver and
etcd; the operator runs in its own process (4 workers, the default; leader election off; resync ${resyncSeconds} s). No kubelet runs, so the
benchmark writes each Deployment's status as ready and publishes its EndpointSlice as soon as the Deployment and
Service exist (${s.kubeletWritesPerResource} writes per resource, not the operator's). Converged = Deployment, Service and
PodDisruptionBudget exist and the status is accurate (observedGeneration current, 1/1 ready, its endpoint listed,
Available True, Progressing RolloutComplete, Degraded False), seen by polling every ${pollMs} ms. Baseline: the same
${count} creates with no operator running. The 404s are the operator checking that a child's name is free before it
first applies it (it never takes over an object it does not own); a resync sends one server-side apply per child,
which the API server answers without writing when nothing changed.

| measure | value |
| --- | ---: |
| baseline: ${count} creates alone | ${s.baselineCreateAllMs} ms |
| ${count} creates with the operator running | ${s.createAllMs} ms |
| all ${count} converged (from the first create) | ${s.convergeAllMs} ms |
| converged ÷ baseline | ${s.convergeVsBaseline}× |
| per resource, create → converged p50 / p90 / p99 | ${s.perResourceMs.p50} / ${s.perResourceMs.p90} / ${s.perResourceMs.p99} ms |
| operator API requests per resource | ${s.operatorRequestsPerResource} (${list(s.operatorRequestsPerResourceByVerb)}) |
| the same by HTTP status | ${list(s.operatorRequestsPerResourceByCode)} |
| watch events received per resource | ${s.watchEventsPerResource} |
| operator CPU per resource | ${s.operatorCpuMsPerResource} ms |
| resync of the converged objects (${s.resyncReconciles} reconciles in ${resyncSeconds + 2} s): requests per reconcile | ${list(s.resyncRequestsPerReconcile) || "none"} |
| the same resync: objects changed (resourceVersion moved) | ${s.resyncChangedObjects} |
`;
}
