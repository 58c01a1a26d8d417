/**
 * Outlier ejection from the callers' Reports. Health checks see an engine's /health; Reports see what
 * its requests actually did, and an engine can be "healthy" while failing every generation. After
 * `consecutiveFailures` failed Reports in a row (upstream error, connect error, timeout) an endpoint
 * is ejected: filtered out of routing for `baseEjectionMs`, doubling (capped, the same curve as health
 * re-checks) when it is ejected again within as long as its last ejection lasted. Ejections are
 * bounded like Envoy's max_ejection_percent, and never take a model's last routable endpoint.
 */
import type { Clock } from "../clock.js";
import type { RoutingOutcome } from "../scoring/strategy.js";
import { exponentialBackoffMs } from "./backoff.js";
import type { EndpointState, EndpointTable } from "./endpoint-table.js";
import type { OutlierDetectionConfig } from "./outlier-config.js";

interface OutlierRecord {
  consecutiveFailures: number;
  lastFailure: RoutingOutcome;
  /** Ejections in a row (each within the previous one's length of the last); 0 = never ejected. */
  level: number;
  ejectedUntil: number;
  lastEjectionMs: number;
  /** Why the current or last ejection happened. */
  reason: string;
}

export interface Ejection {
  endpoint: EndpointState;
  durationMs: number;
  level: number;
  reason: string;
}

export interface OutlierDetectorDeps {
  table: Pick<EndpointTable, "peers">;
  clock: Clock;
  onEjected?: (ejection: Ejection) => void;
}

const failures: ReadonlySet<RoutingOutcome> = new Set(["upstream-error", "connect-error", "timeout"]);

export class OutlierDetector {
  private readonly records = new Map<string, OutlierRecord>();

  constructor(
    private readonly config: OutlierDetectionConfig,
    private readonly deps: OutlierDetectorDeps,
  ) {}

  /** Counts one Report's outcome; returns the ejection it caused, if any. */
  record(endpoint: EndpointState, outcome: RoutingOutcome): Ejection | undefined {
    if (!this.config.enabled) return undefined;
    const record = this.recordOf(endpoint.config.id);
    if (outcome === "success") {
      record.consecutiveFailures = 0;
      return undefined;
    }
    if (!failures.has(outcome)) return undefined;
    const now = this.deps.clock.now();
    // Requests already in flight when it was ejected say nothing new.
    if (record.ejectedUntil > now) return undefined;
    record.consecutiveFailures++;
    record.lastFailure = outcome;
    if (record.consecutiveFailures < this.config.consecutiveFailures) return undefined;
    return this.tryEject(endpoint, record, now);
  }

  /** Why the endpoint is out of routing right now, or undefined when it is not ejected. */
  ejectedBecause(endpointId: string): string | undefined {
    const record = this.records.get(endpointId);
    const remainingMs = record === undefined ? 0 : record.ejectedUntil - this.deps.clock.now();
    if (remainingMs <= 0) return undefined;
    return `ejected for ${Math.ceil(remainingMs / 1000)} s more: ${(record as OutlierRecord).reason}`;
  }

  isEjected(endpointId: string): boolean {
    return (this.records.get(endpointId)?.ejectedUntil ?? 0) > this.deps.clock.now();
  }

  /** Drops the records of endpoints no longer configured. */
  retain(endpointIds: ReadonlySet<string>): void {
    for (const id of this.records.keys()) if (!endpointIds.has(id)) this.records.delete(id);
  }

  private tryEject(endpoint: EndpointState, record: OutlierRecord, now: number): Ejection | undefined {
    const peers = this.deps.table.peers(endpoint.config.model);
    let ejected = 0;
    let routableLeft = 0;
    for (const peer of peers) {
      if (this.isEjected(peer.config.id)) ejected++;
      else if (peer !== endpoint && peer.health.routable) routableLeft++;
    }
    const allowed = Math.max(1, Math.floor((peers.length * this.config.maxEjectionPercent) / 100));
    // Keep counting: the next failure tries again, once a peer returned or recovered.
    if (ejected + 1 > allowed || routableLeft === 0) return undefined;
    const again = record.level > 0 && now - record.ejectedUntil < record.lastEjectionMs;
    record.level = again ? record.level + 1 : 1;
    const { baseEjectionMs, maxEjectionMs } = this.config;
    const durationMs = exponentialBackoffMs(baseEjectionMs, record.level - 1, maxEjectionMs);
    record.ejectedUntil = now + durationMs;
    record.lastEjectionMs = durationMs;
    record.reason =
      `${record.consecutiveFailures} failed reports in a row (last ${record.lastFailure}); ` +
      `ejection ${record.level}, ${Math.round(durationMs / 1000)} s`;
    record.consecutiveFailures = 0;
    const ejection = { endpoint, durationMs, level: record.level, reason: record.reason };
    this.deps.onEjected?.(ejection);
    return ejection;
  }

  private recordOf(endpointId: string): OutlierRecord {
    let record = this.records.get(endpointId);
    if (record === undefined) {
      record = {
        consecutiveFailures: 0,
        lastFailure: "unknown",
        level: 0,
        ejectedUntil: 0,
        lastEjectionMs: 0,
        reason: "",
      };
      this.records.set(endpointId, record);
    }
    return record;
  }
}
