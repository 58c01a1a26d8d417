import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { freePort, waitFor } from "@strata/kit/testing";

export interface EngineProcess {
  url: string;
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
    "--import",
    "tsx",
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
    cpuUs: () => processCpuUs(child.pid!),
    async stop() {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

async function processCpuUs(pid: number): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields 14 and 15 (utime, stime) in clock ticks, counted after the command name in parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / 100;
}
