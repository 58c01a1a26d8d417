import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { untilAborted } from "../src/grpc/stream-control.js";

describe("untilAborted", () => {
  it("passes every message through and ends with its source", async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    async function* source() {
      for (let index = 0; index < 1_000; index++) yield index;
    }
    for await (const value of untilAborted(source(), controller.signal)) seen.push(value);
    expect(seen).toHaveLength(1_000);
    // One listener for the whole call, removed at its end: none left behind per message.
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("ends a read that would wait forever once the signal fires", async () => {
    const controller = new AbortController();
    const never: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<number>>(() => {}) }),
    };
    const reading = (async () => {
      const seen: number[] = [];
      for await (const value of untilAborted(never, controller.signal)) seen.push(value);
      return seen;
    })();
    setTimeout(() => controller.abort(), 20);
    await expect(reading).resolves.toEqual([]);
  });

  it("keeps a single abort listener while reading", async () => {
    const controller = new AbortController();
    async function* source() {
      for (let index = 0; index < 100; index++) yield index;
    }
    for await (const value of untilAborted(source(), controller.signal)) {
      if (value % 10 === 0) expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    }
  });
});
