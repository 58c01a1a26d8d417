import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./find-binary.js";
import { freePort } from "./free-port.js";
import { spawnServer, stopProcess } from "./spawn-server.js";

export interface RedisServerHandle {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Stops the server and deletes its working folder. */
  stop(): Promise<void>;
  /** Stops the server, keeping its port, so a test can see what clients do while Redis is down. */
  kill(): Promise<void>;
  /** Starts it again on the same port after `kill` (empty: there is no persistence). */
  start(): Promise<void>;
}

/**
 * Starts a throwaway `redis-server` on a free local port with persistence off (no RDB snapshots,
 * no AOF), so a test leaves nothing behind and never waits for a disk.
 */
export async function startRedisServer(): Promise<RedisServerHandle> {
  const binary = await findBinary("redis-server", ["/usr/bin", "/usr/local/bin"]);
  if (!binary) {
    throw new Error(
      "redis-server not found on PATH: install it (Debian/Ubuntu: `apt-get install -y redis-server`)",
    );
  }
  const workDir = await mkdtemp(join(tmpdir(), "strata-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    if (child) return;
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    child = await spawnServer("redis-server", binary, [...args, "--dir", workDir, "--daemonize", "no"], port);
  };

  const kill = async () => {
    const running = child;
    child = undefined;
    // SIGKILL: a crash, not a polite shutdown, is what clients must survive.
    if (running) await stopProcess(running, "SIGKILL");
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    start,
    stop: async () => {
      await kill();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
