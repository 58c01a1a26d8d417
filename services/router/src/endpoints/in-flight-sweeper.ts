import type { Logger } from "@strata/kit";
import type { InFlightTracker } from "./in-flight-tracker.js";

/** Sweeping more often than this buys nothing: the timeout it enforces is minutes long. */
const maxSweepIntervalMs = 60_000;

/** Drops in-flight entries whose Report never came, so per-endpoint counts cannot leak; returns `stop`. */
export function startInFlightSweeper(
  inFlight: Pick<InFlightTracker, "sweep">,
  timeoutMs: number,
  logger: Pick<Logger, "warn">,
): () => void {
  const timer = setInterval(
    () => {
      const swept = inFlight.sweep();
      if (swept > 0) logger.warn({ swept, timeoutMs }, "dropped in-flight requests never reported back");
    },
    Math.min(timeoutMs, maxSweepIntervalMs),
  );
  timer.unref();
  return () => clearInterval(timer);
}
