import { type ChildProcess, spawn } from "node:child_process";
import { waitForPort } from "./free-port.js";

/**
 * Spawns a test server and resolves once it accepts connections on `port`. If it exits first, the
 * promise rejects with its output, so a failed start-up says why; one that never listens is killed.
 */
export async function spawnServer(
  name: string,
  binary: string,
  args: string[],
  port: number,
): Promise<ChildProcess> {
  const output: string[] = [];
  const started = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  started.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  started.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<never>((_, reject) =>
    started.once("exit", (code) =>
      reject(new Error(`${name} exited with code ${code} during start-up:\n${output.join("")}`)),
    ),
  );
  exited.catch(() => {}); // only observed while starting
  try {
    await Promise.race([waitForPort(port), exited]);
  } catch (error) {
    // A server that never listened must not outlive the test that started it.
    started.kill("SIGKILL");
    throw error;
  }
  return started;
}

/**
 * Sends `signal` and resolves once the process has exited (at once when it already has); with
 * `killAfterMs`, one still running by then gets SIGKILL.
 */
export async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals,
  killAfterMs?: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer =
      killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
