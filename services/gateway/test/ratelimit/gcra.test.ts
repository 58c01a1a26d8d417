import { describe, expect, it } from "vitest";
import {
  gcraAllowAt,
  gcraFits,
  gcraInterval,
  gcraReconcile,
  gcraRemaining,
  gcraResetMs,
} from "../../src/ratelimit/gcra.js";

const WINDOW = 60_000;

describe("GCRA arithmetic", () => {
  it("fits exactly the limit in a window even when the interval is not a whole number", () => {
    const limit = 7;
    const interval = gcraInterval(limit, WINDOW);
    let tat = 0;
    const now = 5_000;
    let admitted = 0;
    for (let index = 0; index < 10; index++) {
      const allowAt = gcraAllowAt(tat, now, interval, 1, WINDOW);
      if (!gcraFits(allowAt, now)) break;
      tat = allowAt + WINDOW;
      admitted++;
    }
    expect(admitted).toBe(7);
    expect(gcraRemaining(tat, now, interval, WINDOW)).toBe(0);
    expect(gcraResetMs(tat, now)).toBe(60_000);
  });

  it("says when a refused request would fit", () => {
    const interval = gcraInterval(100, WINDOW); // 600 ms a unit
    const tat = 10_000 + WINDOW; // full: a whole window is booked
    const allowAt = gcraAllowAt(tat, 10_000, interval, 5, WINDOW);
    expect(gcraFits(allowAt, 10_000)).toBe(false);
    expect(allowAt - 10_000).toBe(3_000);
    expect(gcraFits(allowAt, allowAt)).toBe(true);
  });

  it("treats an arrival time in the past as a full allowance", () => {
    const interval = gcraInterval(10, WINDOW);
    expect(gcraRemaining(1_000, 50_000, interval, WINDOW)).toBe(10);
    expect(gcraResetMs(1_000, 50_000)).toBe(0);
  });

  it("refunds unused tokens and charges extra use from now", () => {
    const interval = gcraInterval(1_000, WINDOW); // 60 ms a token
    expect(gcraReconcile(70_000, 10_000, interval, 1_000, 500)).toBe(40_000);
    expect(gcraReconcile(70_000, 10_000, interval, 100, 100)).toBe(70_000);
    // The estimate aged out long ago; what was used beyond it still counts from now.
    expect(gcraReconcile(5_000, 10_000, interval, 100, 200)).toBe(16_000);
  });
});
