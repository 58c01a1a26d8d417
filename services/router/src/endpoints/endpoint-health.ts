import { exponentialBackoffMs } from "./backoff.js";

export type HealthStatus = "unknown" | "healthy" | "unhealthy";

export interface HealthPolicy {
  intervalMs: number;
  unhealthyAfterFailures: number;
  unhealthyAfterConnectErrors: number;
  backoffMaxMs: number;
}

export type HealthTransition = (from: HealthStatus, to: HealthStatus, reason: string) => void;

/**
 * Health of one endpoint as a small state machine. An endpoint starts "unknown" and is routable only
 * once a check passed: sending traffic to an engine never seen alive would turn a slow start into errors.
 * Checks must fail N times in a row before a healthy endpoint is dropped (one lost probe is not an
 * outage), but callers' connect errors count separately since they prove the engine is unreachable.
 */
export class EndpointHealth {
  status: HealthStatus = "unknown";
  consecutiveFailures = 0;
  consecutiveConnectErrors = 0;
  lastError: string | undefined;

  constructor(
    private readonly policy: HealthPolicy,
    private readonly onTransition: HealthTransition = () => {},
  ) {}

  get routable(): boolean {
    return this.status === "healthy";
  }

  checkPassed(): void {
    this.consecutiveFailures = 0;
    this.consecutiveConnectErrors = 0;
    this.lastError = undefined;
    this.moveTo("healthy", "health check passed");
  }

  checkFailed(error: string): void {
    this.consecutiveFailures++;
    this.lastError = error;
    if (this.consecutiveFailures >= this.policy.unhealthyAfterFailures) {
      this.moveTo("unhealthy", `${this.consecutiveFailures} failed checks: ${error}`);
    }
  }

  /** A caller could not connect to the engine (reported through Report). */
  connectErrorReported(): void {
    this.consecutiveConnectErrors++;
    if (this.consecutiveConnectErrors >= this.policy.unhealthyAfterConnectErrors) {
      this.lastError = `${this.consecutiveConnectErrors} connect errors reported`;
      this.moveTo("unhealthy", this.lastError);
    }
  }

  /** A caller reached the engine, so earlier connect errors were not a streak. */
  connectSucceeded(): void {
    this.consecutiveConnectErrors = 0;
  }

  /**
   * Healthy and newly failing endpoints are checked every interval, so an outage is noticed within
   * N intervals; once an endpoint is down, re-checks back off exponentially (capped) so a dead engine
   * does not cost a probe per interval forever.
   */
  nextCheckDelayMs(): number {
    const { intervalMs, unhealthyAfterFailures, backoffMaxMs } = this.policy;
    return exponentialBackoffMs(intervalMs, this.consecutiveFailures - unhealthyAfterFailures, backoffMaxMs);
  }

  private moveTo(status: HealthStatus, reason: string): void {
    if (this.status === status) return;
    const from = this.status;
    this.status = status;
    this.onTransition(from, status, reason);
  }
}
