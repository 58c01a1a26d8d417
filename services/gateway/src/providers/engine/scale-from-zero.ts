import { StrataError } from "@strata/kit";
import { sleep } from "../retry-policy.js";

export interface HoldOptions {
  /** The longest a request waits for a replica; past it the client gets a 503 saying so. */
  waitMs: number;
  /** The request's signal: the client going away (or its deadline) ends the wait at once. */
  signal: AbortSignal;
  model: string;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
}

/** The router's answer for a model with no replica that is starting one (scale from zero). */
export function isScalingUp(error: unknown): error is StrataError {
  return error instanceof StrataError && error.code === "model_scaling_up";
}

/**
 * Holds a request while its model comes back from zero replicas: routes again with back-off until a
 * replica takes it. While the first replica loads the router answers model_scaling_up; once its
 * address is published but before its first health check passes, no_healthy_upstream — both mean
 * "not yet". Anything else, the client leaving, or the bound passing ends the wait.
 */
export async function holdUntilRouted<T>(route: () => Promise<T>, options: HoldOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const deadline = now() + options.waitMs;
  const initial = options.initialBackoffMs ?? 250;
  const max = options.maxBackoffMs ?? 5_000;
  for (let attempt = 0; ; attempt++) {
    const remaining = deadline - now();
    if (remaining <= 0) {
      const seconds = Math.round(options.waitMs / 1000);
      throw new StrataError(
        "no_healthy_upstream",
        `model "${options.model}" is scaled to zero and no replica became ready within ${seconds} s; retry later`,
        { retryAfterSeconds: 30 },
      );
    }
    await sleep(Math.min(remaining, initial * 2 ** attempt, max), options.signal);
    try {
      return await route();
    } catch (error) {
      const notYet =
        isScalingUp(error) || (error instanceof StrataError && error.code === "no_healthy_upstream");
      if (!notYet) throw error;
    }
  }
}
