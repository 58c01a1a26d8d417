/** Runs the sequences of one API request (n choices × prompts) and reports when all are done. */
import type { OutputPlan } from "../generation/output-plan.js";
import type { RealTimeDriver } from "./driver.js";

export interface ChoiceSpec {
  promptTokenIds: readonly number[];
  plan: OutputPlan;
}

export interface RunHandlers {
  onAdmitted?(choice: number, cachedTokens: number): void;
  onToken?(choice: number, tokenIndex: number): void;
  /** Every choice completed; `cachedTokens[i]` is choice i's prefix-cache hit at admission. */
  onComplete(cachedTokens: number[]): void;
  /** A choice was aborted (disconnect or shutdown); the others were aborted too. */
  onAborted(): void;
}

let runCounter = 0;

export function runChoices(
  driver: RealTimeDriver,
  specs: readonly ChoiceSpec[],
  handlers: RunHandlers,
): { abort(): void } {
  const runId = `run-${process.pid}-${++runCounter}`;
  const cachedTokens = specs.map(() => 0);
  const live = new Set<number>();
  let remaining = specs.length;
  let aborted = false;
  const abort = () => {
    if (aborted) return;
    aborted = true;
    for (const choice of [...live]) driver.abort(`${runId}-${choice}`);
  };
  specs.forEach((spec, choice) => {
    live.add(choice);
    driver.submit(
      {
        id: `${runId}-${choice}`,
        promptTokenIds: spec.promptTokenIds,
        outputTokenIds: spec.plan.tokenIds,
        finishReason: spec.plan.finishReason,
      },
      {
        onAdmitted: (cached) => {
          cachedTokens[choice] = cached;
          handlers.onAdmitted?.(choice, cached);
        },
        onToken: (index) => handlers.onToken?.(choice, index),
        onFinished: (outcome) => {
          live.delete(choice);
          if (outcome === "aborted") {
            const first = !aborted;
            abort();
            if (first) handlers.onAborted();
            return;
          }
          remaining--;
          if (remaining === 0 && !aborted) handlers.onComplete(cachedTokens);
        },
      },
    );
  });
  return { abort };
}
