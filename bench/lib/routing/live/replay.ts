import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ReplayPlan, ReplayRecord } from "./replay-worker.js";

export type { ReplayPlan, ReplayRecord, ReplayRequest, ReplayTarget } from "./replay-worker.js";

/** A long-lived replay-worker child process; one plan at a time. */
export class ReplayClient {
  private readonly child: ChildProcess;
  private nextId = 0;

  constructor() {
    this.child = fork(fileURLToPath(new URL("./replay-worker.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
  }

  run(plan: ReplayPlan): Promise<ReplayRecord[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`replay worker exited (${code})`));
      const onMessage = (message: { id: number; records?: ReplayRecord[]; error?: string }) => {
        if (message.id !== id) return;
        this.child.off("message", onMessage);
        this.child.off("exit", onExit);
        if (message.records) resolve(message.records);
        else reject(new Error(`replay worker: ${message.error}`));
      };
      this.child.on("message", onMessage);
      this.child.once("exit", onExit);
      this.child.send({ id, plan });
    });
  }

  close(): void {
    this.child.kill();
  }
}
