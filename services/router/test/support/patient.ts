import { eventually as kitEventually } from "@strata/kit/testing";

/**
 * The kit's `eventually` with room for a loaded machine (health rounds, NATS hops and engine
 * processes can stall for seconds), still well inside the 30 s test timeout.
 */
export function eventually(
  assertion: () => Promise<void> | void,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  return kitEventually(assertion, { timeoutMs: 15_000, intervalMs: 50, ...options });
}
