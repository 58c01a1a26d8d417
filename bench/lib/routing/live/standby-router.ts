import { type RouterProcess, startRouterProcess } from "./router-process.js";

/**
 * Keeps a router port answering while no run uses it. A gateway whose router stays down for minutes
 * (the second gateway between two-router runs) backs its gRPC reconnects off to two minutes apart, and
 * then misses the next run's router; against a router that is up, it stays connected and reconnects
 * within a second or two when a run swaps its own router in. The standby router has no endpoints, so
 * it costs nothing while it waits.
 */
export class StandbyRouter {
  private running: RouterProcess | undefined;

  constructor(private readonly port: number) {}

  async start(): Promise<void> {
    this.running ??= await startRouterProcess({ endpoints: [], logLevel: "warn" }, this.port);
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.stop();
  }

  /** Frees the port for `run`'s own router, and takes it back afterwards. */
  async lend<T>(run: () => Promise<T>): Promise<T> {
    await this.stop();
    try {
      return await run();
    } finally {
      await this.start();
    }
  }
}
