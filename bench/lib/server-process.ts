import { type ChildProcess, fork, spawn } from "node:child_process";
import { once } from "node:events";
import { waitFor } from "@strata/kit/testing";
import { type ProcessMemory, processCpuUs, processMemory } from "./proc-stats.js";

/** A server under test in a process of its own: where to send requests, and what it costs. */
export interface ServerProcess {
  name: string;
  /** Base URL (scheme, host, port). */
  url: string;
  /** Headers every request to it carries (credentials, provider routing). */
  headers: Record<string, string>;
  pid: number;
  cpuUs(): Promise<number>;
  memory(): Promise<ProcessMemory>;
  /** Asks the process something over IPC (forked servers only). */
  ask<T>(message: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/** Node flags that run a product process's TypeScript entry the way `pnpm start` does. */
export const productRuntime = ["--import", "@strata/ts-runtime/register"];

/** What a forked server sends its parent once it listens. */
export interface ServerReady {
  url: string;
  headers: Record<string, string>;
}

/**
 * Forks a TypeScript server entry (run as `pnpm start` runs the platform), sends it
 * `start` and waits for `{ ready }`. Later messages carry an `id` and get `{ id, answer | error }`.
 */
export async function forkServer(
  name: string,
  entry: URL,
  start: unknown,
  nodeFlags: string[] = [],
): Promise<ServerProcess> {
  const child = fork(entry, [], {
    execArgv: [...productRuntime, ...nodeFlags],
    stdio: ["ignore", process.env.BENCH_SERVER_STDOUT ? "inherit" : "ignore", "inherit", "ipc"],
    serialization: "advanced",
  });
  const ready = new Promise<ServerReady>((resolve, reject) => {
    const onMessage = (message: { ready?: ServerReady; error?: string }) => {
      if (!message.ready && !message.error) return;
      child.off("message", onMessage);
      if (message.ready) resolve(message.ready);
      else reject(new Error(`${name}: ${message.error}`));
    };
    child.on("message", onMessage);
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}) during start-up`)));
  });
  child.send({ start });
  try {
    const { url, headers } = await ready;
    return describe(name, child, url, headers);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

/** Spawns a plain Node server and waits until `healthUrl` answers at all (any status). */
export async function spawnServer(
  name: string,
  options: {
    args: string[];
    env?: Record<string, string>;
    url: string;
    healthUrl: string;
    headers: Record<string, string>;
  },
): Promise<ServerProcess> {
  const child = spawn(process.execPath, options.args, {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, ...options.env },
  });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`${name} exited (${code}) during start-up`);
  });
  try {
    await Promise.race([
      exited,
      waitFor(async () => (await fetch(options.healthUrl).catch(() => undefined)) !== undefined, {
        timeoutMs: 60_000,
        intervalMs: 100,
        message: `${name} did not start listening`,
      }),
    ]);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  exited.catch(() => undefined);
  return describe(name, child, options.url, options.headers);
}

function describe(
  name: string,
  child: ChildProcess,
  url: string,
  headers: Record<string, string>,
): ServerProcess {
  const pid = child.pid!;
  let nextId = 0;
  return {
    name,
    url,
    headers,
    pid,
    cpuUs: () => processCpuUs(pid),
    memory: () => processMemory(pid),
    ask<T>(message: Record<string, unknown>) {
      const id = ++nextId;
      return new Promise<T>((resolve, reject) => {
        const onMessage = (reply: { id?: number; answer?: T; error?: string }) => {
          if (reply.id !== id) return;
          child.off("message", onMessage);
          if (reply.error !== undefined) reject(new Error(`${name}: ${reply.error}`));
          else resolve(reply.answer as T);
        };
        child.on("message", onMessage);
        child.send({ ...message, id });
      });
    },
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(killer);
}
