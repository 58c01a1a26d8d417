import type { Logger } from "@strata/kit";

export interface CircuitBreakerOptions {
  /** Opens after this many failures in a row. */
  consecutiveFailures: number;
  /** ...or when at least `minimumRequests` in the last `windowMs` failed at `failureRate` or more. */
  windowMs: number;
  failureRate: number;
  minimumRequests: number;
  /** How long an open circuit refuses before letting probes through (half-open). */
  openMs: number;
  /** Concurrent probes allowed while half-open; one success closes the circuit, one failure reopens it. */
  halfOpenProbes: number;
}

export type CircuitState = "closed" | "open" | "half-open";

/** A permit to call the target; exactly one of success/failure/release is called for it. */
export interface CircuitPermit {
  success(): void;
  failure(): void;
  /** The call never tested the target (client gone, request invalid): counts for nothing. */
  release(): void;
}

const BUCKETS = 10;

/** One call's permit: the first of success/failure/release counts, later ones do nothing. */
class Permit implements CircuitPermit {
  private used = false;

  constructor(
    private readonly settle: (permit: Permit, ok: boolean | undefined) => void,
    readonly target: string,
    readonly circuit: Circuit,
    readonly probe: boolean,
  ) {}

  success(): void {
    this.end(true);
  }

  failure(): void {
    this.end(false);
  }

  release(): void {
    this.end(undefined);
  }

  private end(ok: boolean | undefined): void {
    if (this.used) return;
    this.used = true;
    if (this.probe) this.circuit.probes--;
    this.settle(this, ok);
  }
}

interface Circuit {
  state: CircuitState;
  consecutive: number;
  openedAt: number;
  probes: number;
  /** Failure-rate window as BUCKETS time slices of windowMs / BUCKETS each. */
  bucketStart: number[];
  successes: number[];
  failures: number[];
}

/**
 * One circuit per target (an engine replica or a hosted provider): closed → open after repeated
 * failures → half-open after `openMs`, where a few probes decide between closed and open again.
 * A failing upstream is then refused at once instead of costing every request a timeout.
 */
export class CircuitBreaker {
  private readonly circuits = new Map<string, Circuit>();
  private readonly now: () => number;

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly deps: {
      logger: Logger;
      /** Called on every state change (for the state gauge and transition counter). */
      onStateChange?: (target: string, from: CircuitState, to: CircuitState) => void;
      now?: () => number;
    },
  ) {
    this.now = deps.now ?? Date.now;
  }

  state(target: string): CircuitState {
    const circuit = this.circuits.get(target);
    if (!circuit) return "closed";
    if (circuit.state === "open" && this.now() - circuit.openedAt >= this.options.openMs) return "half-open";
    return circuit.state;
  }

  /** A permit when the target may be called now; undefined while the circuit is open (or probes are out). */
  acquire(target: string): CircuitPermit | undefined {
    const circuit = this.circuit(target);
    if (circuit.state === "open") {
      if (this.now() - circuit.openedAt < this.options.openMs) return undefined;
      this.transition(target, circuit, "half-open");
    }
    if (circuit.state === "half-open") {
      if (circuit.probes >= this.options.halfOpenProbes) return undefined;
      circuit.probes++;
      return this.permit(target, circuit, true);
    }
    return this.permit(target, circuit, false);
  }

  private permit(target: string, circuit: Circuit, probe: boolean): CircuitPermit {
    return new Permit(this.settlePermit, target, circuit, probe);
  }

  /** Where every permit reports how its call went: true success, false failure, undefined released. */
  private readonly settlePermit = (permit: Permit, ok: boolean | undefined): void => {
    if (ok === true) this.onSuccess(permit.target, permit.circuit, permit.probe);
    else if (ok === false) this.onFailure(permit.target, permit.circuit, permit.probe);
  };

  private onSuccess(target: string, circuit: Circuit, probe: boolean): void {
    circuit.consecutive = 0;
    this.count(circuit, true);
    if (probe && circuit.state === "half-open") {
      this.resetWindow(circuit);
      this.transition(target, circuit, "closed");
    }
  }

  private onFailure(target: string, circuit: Circuit, probe: boolean): void {
    circuit.consecutive++;
    this.count(circuit, false);
    if (circuit.state === "half-open" && probe) {
      this.open(target, circuit, "a half-open probe failed");
      return;
    }
    if (circuit.state !== "closed") return;
    if (circuit.consecutive >= this.options.consecutiveFailures) {
      this.open(target, circuit, `${circuit.consecutive} consecutive failures`);
      return;
    }
    const { total, failed } = this.window(circuit);
    if (total >= this.options.minimumRequests && failed / total >= this.options.failureRate)
      this.open(target, circuit, `${failed} of ${total} requests failed in ${this.options.windowMs} ms`);
  }

  private open(target: string, circuit: Circuit, reason: string): void {
    circuit.openedAt = this.now();
    this.transition(target, circuit, "open", reason);
  }

  private transition(target: string, circuit: Circuit, to: CircuitState, reason?: string): void {
    const from = circuit.state;
    if (from === to) return;
    circuit.state = to;
    if (to === "closed") circuit.consecutive = 0;
    const log = { target, from, to, ...(reason ? { reason } : {}) };
    if (to === "open") this.deps.logger.warn(log, "circuit opened");
    else this.deps.logger.info(log, `circuit ${to}`);
    this.deps.onStateChange?.(target, from, to);
  }

  private circuit(target: string): Circuit {
    let circuit = this.circuits.get(target);
    if (!circuit) {
      circuit = {
        state: "closed",
        consecutive: 0,
        openedAt: 0,
        probes: 0,
        bucketStart: new Array(BUCKETS).fill(-Infinity),
        successes: new Array(BUCKETS).fill(0),
        failures: new Array(BUCKETS).fill(0),
      };
      this.circuits.set(target, circuit);
    }
    return circuit;
  }

  private count(circuit: Circuit, ok: boolean): void {
    const width = this.options.windowMs / BUCKETS;
    const slot = Math.floor(this.now() / width);
    const index = slot % BUCKETS;
    if (circuit.bucketStart[index] !== slot) {
      circuit.bucketStart[index] = slot;
      circuit.successes[index] = 0;
      circuit.failures[index] = 0;
    }
    if (ok) circuit.successes[index]!++;
    else circuit.failures[index]!++;
  }

  private window(circuit: Circuit): { total: number; failed: number } {
    const width = this.options.windowMs / BUCKETS;
    const oldest = Math.floor(this.now() / width) - BUCKETS + 1;
    let total = 0;
    let failed = 0;
    for (let index = 0; index < BUCKETS; index++) {
      if (circuit.bucketStart[index]! < oldest) continue;
      total += circuit.successes[index]! + circuit.failures[index]!;
      failed += circuit.failures[index]!;
    }
    return { total, failed };
  }

  private resetWindow(circuit: Circuit): void {
    circuit.bucketStart.fill(-Infinity);
  }
}
