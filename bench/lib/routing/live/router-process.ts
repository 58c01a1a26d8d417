/**
 * The router as its own process (`services/router/src/main.ts`), configured through a JSON file named
 * by ROUTER_CONFIG_FILE, the way a ConfigMap configures it in a cluster. The configuration is checked
 * against the router's own schema first, so a mistake here fails with the router's message at once
 * instead of as a process that never becomes ready.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "@strata/kit/testing";
import { routerConfigSchema } from "@strata/router";
import { benchDir } from "../../report.js";
import { productRuntime } from "../../server-process.js";

export interface RouterProcess {
  grpcAddress: string;
  metricsUrl: string;
  stop(): Promise<void>;
}

/** `config` is the router's configuration minus its ports, which are filled in here. */
export async function startRouterProcess(
  config: Record<string, unknown>,
  grpcPort: number,
): Promise<RouterProcess> {
  const opsPort = await freePort();
  const full = { ...config, grpc: { host: "127.0.0.1", port: grpcPort }, ops: { port: opsPort } };
  const checked = routerConfigSchema.safeParse(full);
  if (!checked.success) {
    throw new Error(`router configuration rejected: ${checked.error.issues.map(describeIssue).join("; ")}`);
  }
  const folder = await mkdtemp(join(tmpdir(), "strata-bench-router-"));
  const file = join(folder, "router.json");
  await writeFile(file, JSON.stringify(full));
  const child: ChildProcess = spawn(
    process.execPath,
    [...productRuntime, join(benchDir, "..", "services", "router", "src", "main.ts")],
    {
      env: { ...process.env, ROUTER_CONFIG_FILE: file },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(folder, { recursive: true, force: true });
  };
  const metricsUrl = `http://127.0.0.1:${opsPort}/metrics`;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`router exited with code ${child.exitCode} during start-up`);
        const response = await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => undefined);
        return response?.ok === true;
      },
      { timeoutMs: 120_000, intervalMs: 100, message: "router process to become ready" },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { grpcAddress: `127.0.0.1:${grpcPort}`, metricsUrl, stop };
}

function describeIssue(issue: { path: PropertyKey[]; message: string }): string {
  return `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`;
}
