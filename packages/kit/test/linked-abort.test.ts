import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { LinkedAbort } from "../src/lifecycle/linked-abort.js";

describe("LinkedAbort", () => {
  it("aborts with the parent's reason", () => {
    const parent = new AbortController();
    const child = new LinkedAbort(parent.signal);
    const reason = new Error("client went away");
    parent.abort(reason);
    expect(child.signal.aborted).toBe(true);
    expect(child.signal.reason).toBe(reason);
  });

  it("starts aborted under an aborted parent, without a timer", async () => {
    const parent = new AbortController();
    parent.abort("gone");
    const child = new LinkedAbort(parent.signal, { timeoutMs: 1 });
    expect(child.signal.reason).toBe("gone");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(child.signal.reason).toBe("gone");
  });

  it("aborts with a TimeoutError when its time limit passes", async () => {
    const child = new LinkedAbort(undefined, { timeoutMs: 5 });
    await new Promise((resolve) => child.signal.addEventListener("abort", resolve));
    expect((child.signal.reason as Error).name).toBe("TimeoutError");
  });

  it("leaves nothing behind on the parent once disposed, however many children it had", () => {
    const parent = new AbortController();
    for (let i = 0; i < 1000; i++) new LinkedAbort(parent.signal, { timeoutMs: 60_000 }).dispose();
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(0);
    // Nor does any weak reference per child stay in the parent, as AbortSignal.any leaves one.
    const perChildState = Object.getOwnPropertySymbols(parent.signal)
      .map((symbol) => (parent.signal as unknown as Record<symbol, unknown>)[symbol])
      .filter((value) => ((value as { size?: number } | undefined)?.size ?? 0) > 0);
    expect(perChildState).toEqual([]);
  });

  it("neither follows the parent nor times out after dispose", async () => {
    const parent = new AbortController();
    const child = new LinkedAbort(parent.signal, { timeoutMs: 5 });
    child.dispose();
    parent.abort("late");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(child.signal.aborted).toBe(false);
  });
});
