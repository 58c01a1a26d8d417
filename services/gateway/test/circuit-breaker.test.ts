import { Registry, silentLogger } from "@strata/kit";
import { describe, expect, it } from "vitest";
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
} from "../src/providers/circuit-breaker.js";
import { createProviderMetrics } from "../src/providers/provider-metrics.js";

const options: CircuitBreakerOptions = {
  consecutiveFailures: 3,
  windowMs: 10_000,
  failureRate: 0.5,
  minimumRequests: 10,
  openMs: 1_000,
  halfOpenProbes: 1,
};

function breaker(overrides: Partial<CircuitBreakerOptions> = {}) {
  const clock = { now: 0 };
  const changes: [string, CircuitState][] = [];
  const circuit = new CircuitBreaker(
    { ...options, ...overrides },
    {
      logger: silentLogger(),
      now: () => clock.now,
      onStateChange: (target, _from, to) => changes.push([target, to]),
    },
  );
  return { circuit, clock, changes };
}

const fail = (circuit: CircuitBreaker, target = "p") => circuit.acquire(target)!.failure();
const succeed = (circuit: CircuitBreaker, target = "p") => circuit.acquire(target)!.success();

describe("CircuitBreaker", () => {
  it("opens after consecutive failures and refuses while open", () => {
    const { circuit, changes } = breaker();
    fail(circuit);
    fail(circuit);
    succeed(circuit);
    fail(circuit);
    fail(circuit);
    expect(circuit.state("p")).toBe("closed");
    fail(circuit);
    expect(circuit.state("p")).toBe("open");
    expect(circuit.acquire("p")).toBeUndefined();
    expect(circuit.acquire("other")).toBeDefined();
    expect(changes).toEqual([["p", "open"]]);
  });

  it("half-opens after openMs with a limited number of probes; a success closes it", () => {
    const { circuit, clock, changes } = breaker();
    for (let index = 0; index < 3; index++) fail(circuit);
    clock.now = 999;
    expect(circuit.acquire("p")).toBeUndefined();
    clock.now = 1_000;
    const probe = circuit.acquire("p")!;
    expect(probe).toBeDefined();
    expect(circuit.state("p")).toBe("half-open");
    expect(circuit.acquire("p")).toBeUndefined();
    probe.success();
    expect(circuit.state("p")).toBe("closed");
    expect(circuit.acquire("p")).toBeDefined();
    expect(changes.map(([, state]) => state)).toEqual(["open", "half-open", "closed"]);
  });

  it("reopens when a probe fails", () => {
    const { circuit, clock } = breaker();
    for (let index = 0; index < 3; index++) fail(circuit);
    clock.now = 1_000;
    circuit.acquire("p")!.failure();
    expect(circuit.state("p")).toBe("open");
    clock.now = 1_500;
    expect(circuit.acquire("p")).toBeUndefined();
    clock.now = 2_000;
    expect(circuit.acquire("p")).toBeDefined();
  });

  it("opens on the failure rate in its window, not only on streaks", () => {
    const { circuit, clock } = breaker({ consecutiveFailures: 100 });
    for (let index = 0; index < 9; index++) {
      clock.now += 100;
      if (index % 2 === 0) fail(circuit);
      else succeed(circuit);
    }
    expect(circuit.state("p")).toBe("closed");
    fail(circuit);
    expect(circuit.state("p")).toBe("open");
  });

  it("forgets failures that left the window", () => {
    const { circuit, clock } = breaker({ consecutiveFailures: 100, minimumRequests: 4 });
    for (let index = 0; index < 3; index++) fail(circuit);
    clock.now = 20_000;
    succeed(circuit);
    succeed(circuit);
    fail(circuit);
    fail(circuit);
    expect(circuit.state("p")).toBe("open");
    const other = breaker({ consecutiveFailures: 100, minimumRequests: 4 });
    for (let index = 0; index < 3; index++) fail(other.circuit);
    other.clock.now = 20_000;
    succeed(other.circuit);
    succeed(other.circuit);
    succeed(other.circuit);
    fail(other.circuit);
    expect(other.circuit.state("p")).toBe("closed");
  });

  it("does not count a released permit, and a permit settles once", () => {
    const { circuit } = breaker();
    for (let index = 0; index < 5; index++) circuit.acquire("p")!.release();
    const permit = circuit.acquire("p")!;
    permit.failure();
    permit.failure();
    permit.failure();
    expect(circuit.state("p")).toBe("closed");
  });
});

describe("circuit metrics", () => {
  it("exports each target's state as strata_gateway_circuit_state", async () => {
    const registry = new Registry();
    const metrics = createProviderMetrics(registry);
    const circuit = new CircuitBreaker(options, {
      logger: silentLogger(),
      onStateChange: (target, _from, to) => metrics.circuitChanged(target, to),
    });
    for (let index = 0; index < 3; index++) circuit.acquire("engine/sim-0")!.failure();
    const text = await registry.metrics();
    expect(text).toContain('strata_gateway_circuit_state{target="engine/sim-0"} 1');
    expect(text).toContain('strata_gateway_circuit_transitions_total{target="engine/sim-0",state="open"} 1');
  });
});
