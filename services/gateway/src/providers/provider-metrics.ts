import { Counter, Gauge, type Registry } from "@strata/kit";
import type { CircuitState } from "./circuit-breaker.js";

export type ProviderMetrics = ReturnType<typeof createProviderMetrics>;

const stateValue: Record<CircuitState, number> = { closed: 0, open: 1, "half-open": 2 };

export function createProviderMetrics(registry: Registry) {
  const circuitState = new Gauge({
    name: "strata_gateway_circuit_state",
    help: "Circuit breaker state per upstream target: 0 closed, 1 open, 2 half-open.",
    labelNames: ["target"],
    registers: [registry],
  });
  const circuitTransitions = new Counter({
    name: "strata_gateway_circuit_transitions_total",
    help: "Circuit breaker state changes, by target and new state.",
    labelNames: ["target", "state"],
    registers: [registry],
  });
  return {
    attempts: new Counter({
      name: "strata_gateway_upstream_attempts_total",
      help: "Upstream attempts by provider and result (success, client_error, retryable_status, rejected, connect_error, timeout, upstream_error, circuit_open, not_sent, cancelled).",
      labelNames: ["provider", "result"],
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: "strata_gateway_fallbacks_total",
      help: "Requests answered by a later entry of their fallback chain, by the provider that answered.",
      labelNames: ["provider"],
      registers: [registry],
    }),
    circuitChanged(target: string, to: CircuitState): void {
      circuitState.set({ target }, stateValue[to]);
      circuitTransitions.inc({ target, state: to });
    },
  };
}
