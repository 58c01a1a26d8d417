import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { productRuntime } from "../../server-process.js";
import type { GatewayReady, GatewayStart } from "./gateway-process.js";

export interface GatewayHost extends GatewayReady {
  stop(): Promise<void>;
}

/**
 * Forks a gateway process (gateway-process.ts) bound to one router address. Booting PGlite and
 * migrating takes seconds, so gateways live for the whole benchmark while engines and routers are
 * restarted for each run; the gateway's gRPC channel reconnects to the new router on the same port.
 */
export async function startGatewayProcess(routerAddress: string): Promise<GatewayHost> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./gateway-process.ts", import.meta.url)), [], {
    execArgv: productRuntime,
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(killer);
  };
  const answer = new Promise<GatewayReady>((resolve, reject) => {
    child.once("message", (message: { ready?: GatewayReady; error?: string }) =>
      message.ready ? resolve(message.ready) : reject(new Error(`gateway process: ${message.error}`)),
    );
    child.once("exit", (code) => reject(new Error(`gateway process exited (${code}) during start-up`)));
  });
  const start: GatewayStart = { routerAddress };
  child.send(start);
  try {
    return { ...(await answer), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
