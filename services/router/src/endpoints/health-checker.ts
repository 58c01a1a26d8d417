import type { Logger } from "@strata/kit";
import { clearedLoad, type EndpointState, type EndpointTable } from "./endpoint-table.js";
import type { ProbeEngine } from "./engine-probe.js";

export interface HealthCheckerOptions {
  table: Pick<EndpointTable, "all">;
  probe: ProbeEngine;
  logger: Logger;
}

/**
 * Checks every endpoint on its own timer: each endpoint's next check is scheduled after its previous
 * one finished, with a delay its health state decides (interval, or back-off when failing), so a slow
 * engine never stacks up overlapping probes.
 */
export class HealthChecker {
  /** The endpoints being checked, each with its next check's timer (absent while a check runs). */
  private readonly timers = new Map<EndpointState, NodeJS.Timeout | undefined>();
  private readonly abort = new AbortController();
  private closed = false;

  constructor(private readonly options: HealthCheckerOptions) {}

  /** Checks all endpoints once, waits for that round, then keeps checking in the background. */
  async start(): Promise<void> {
    await Promise.all(this.options.table.all().map((endpoint) => this.follow(endpoint)));
  }

  /** After the table changed: endpoints that joined are checked at once, those that left no more. */
  sync(): void {
    const current = new Set(this.options.table.all());
    for (const [endpoint, timer] of this.timers) {
      if (current.has(endpoint)) continue;
      clearTimeout(timer);
      this.timers.delete(endpoint);
    }
    for (const endpoint of current) if (!this.timers.has(endpoint)) void this.follow(endpoint);
  }

  /** Runs one check of an endpoint now; exposed for tests and for a future "check on suspicion". */
  async check(endpoint: EndpointState): Promise<void> {
    try {
      const result = await this.options.probe(endpoint.config, this.abort.signal);
      if (this.closed) return;
      // Stale load would keep steering traffic by numbers the engine no longer reports; unknown is honest.
      endpoint.load = result.load ?? clearedLoad();
      if (result.healthy) endpoint.health.checkPassed();
      else endpoint.health.checkFailed(result.error ?? "health check failed");
    } catch (error) {
      // A probe must not throw, but if it does the endpoint is not known to be alive.
      if (this.closed) return;
      this.options.logger.error({ err: error, endpoint: endpoint.config.id }, "health probe threw");
      endpoint.health.checkFailed((error as Error).message);
    }
  }

  close(): void {
    this.closed = true;
    this.abort.abort(new Error("router shutting down"));
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private follow(endpoint: EndpointState): Promise<void> {
    this.timers.set(endpoint, undefined);
    return this.checkAndSchedule(endpoint);
  }

  private async checkAndSchedule(endpoint: EndpointState): Promise<void> {
    await this.check(endpoint);
    // Closed, or the endpoint left the table while its check ran.
    if (this.closed || !this.timers.has(endpoint)) return;
    const timer = setTimeout(() => void this.checkAndSchedule(endpoint), endpoint.health.nextCheckDelayMs());
    timer.unref();
    this.timers.set(endpoint, timer);
  }
}
