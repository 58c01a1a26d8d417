import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./find-binary.js";
import { freePort } from "./free-port.js";
import { spawnServer, stopProcess } from "./spawn-server.js";

export interface NatsServerHandle {
  url: string;
  /** Stops the server and deletes its store. */
  stop(): Promise<void>;
  /** Stops and starts the server again on the same port with the same store (tests durability and reconnects). */
  restart(): Promise<void>;
}

/** Starts a throwaway `nats-server` with JetStream on a free local port. */
export async function startNatsServer(): Promise<NatsServerHandle> {
  const binary = await findBinary("nats-server", ["/usr/sbin", "/usr/local/sbin"]);
  if (!binary) {
    throw new Error(
      "nats-server not found on PATH: install it (Debian/Ubuntu: `apt-get install -y nats-server`, or a release from https://github.com/nats-io/nats-server/releases)",
    );
  }
  const storeDir = await mkdtemp(join(tmpdir(), "strata-nats-"));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = ["-js", "-sd", storeDir, "-p", String(port), "-a", "127.0.0.1"];
    child = await spawnServer("nats-server", binary, args, port);
  };

  const kill = async () => {
    const running = child;
    child = undefined;
    if (running) await stopProcess(running, "SIGTERM");
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: async () => {
      await kill();
      await rm(storeDir, { recursive: true, force: true });
    },
    restart: async () => {
      await kill();
      await start();
    },
  };
}
