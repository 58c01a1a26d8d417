import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { freePort, waitFor } from "@strata/kit/testing";
import { processCpuUs } from "./proc-stats.js";
import { productRuntime } from "./server-process.js";

export interface EngineProcess {
  url: string;
  pid: number;
  /** CPU time the engine process used so far, in microseconds (from /proc, Linux). */
  cpuUs(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * engine-sim in its own process, as an engine replica is its own pod in production: the gateway's
 * process then holds only the platform's work, and the engine's CPU is measured apart.
 */
export async function startEngineProcess(flags: Record<string, string | number>): Promise<EngineProcess> {
  const port = await freePort();
  const args = [
    ...productRuntime,
    "services/engine-sim/src/main.ts",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
  ];
  for (const [name, value] of Object.entries(flags)) args.push(`--${name}`, String(value));
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true, {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: "engine-sim process did not become healthy",
  });
  return {
    url,
    pid: child.pid!,
    cpuUs: () => processCpuUs(child.pid!),
    async stop() {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}
