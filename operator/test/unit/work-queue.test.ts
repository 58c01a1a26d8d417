import { describe, expect, it } from "vitest";
import {
  BucketRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
} from "../../src/kube/rate-limiter.js";
import { WorkQueue } from "../../src/kube/work-queue.js";

const noDelay = new ItemExponentialRateLimiter(1, 1);

describe("WorkQueue", () => {
  it("queues a key once however many events name it", async () => {
    const depths: number[] = [];
    const queue = new WorkQueue(noDelay, (depth) => depths.push(depth));
    queue.add("ns/a");
    queue.add("ns/b");
    queue.add("ns/a");
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe("ns/a");
    expect(await queue.get()).toBe("ns/b");
    expect(depths.at(-1)).toBe(0);
  });

  it("never hands a key to two workers, and reprocesses it when it changed meanwhile", async () => {
    const queue = new WorkQueue(noDelay);
    queue.add("ns/a");
    const key = await queue.get();
    queue.add("ns/a"); // an event while the first worker still reconciles it
    expect(queue.length).toBe(0);
    let second: string | undefined;
    void queue.get().then((next) => (second = next));
    await Promise.resolve();
    expect(second).toBeUndefined();
    queue.done(key!);
    await Promise.resolve();
    expect(second).toBe("ns/a");
  });

  it("retries failing keys after growing delays and forgets them on success", () => {
    const limiter = new ItemExponentialRateLimiter(10, 1_000);
    expect([limiter.when("a"), limiter.when("a"), limiter.when("a"), limiter.when("b")]).toEqual([
      10, 20, 40, 10,
    ]);
    expect(limiter.failures("a")).toBe(3);
    for (let attempt = 0; attempt < 20; attempt++) limiter.when("a");
    expect(limiter.when("a")).toBe(1_000);
    limiter.forget("a");
    expect(limiter.when("a")).toBe(10);
  });

  it("adds a rate-limited key after its delay", async () => {
    const queue = new WorkQueue(new ItemExponentialRateLimiter(30, 1_000));
    queue.addRateLimited("ns/slow");
    expect(queue.length).toBe(0);
    const started = Date.now();
    expect(await queue.get()).toBe("ns/slow");
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it("keeps the earliest of two delayed adds", async () => {
    const queue = new WorkQueue(noDelay);
    queue.addAfter("ns/a", 10_000);
    queue.addAfter("ns/a", 5);
    expect(await queue.get()).toBe("ns/a");
    queue.shutDown();
  });

  it("releases waiting workers on shut down", async () => {
    const queue = new WorkQueue(noDelay);
    const waiting = queue.get();
    queue.shutDown();
    expect(await waiting).toBeUndefined();
    queue.add("ns/late");
    expect(await queue.get()).toBeUndefined();
  });
});

describe("rate limiters", () => {
  it("spreads retries over time once the bucket's burst is spent", () => {
    let now = 0;
    const bucket = new BucketRateLimiter(10, 2, { now: () => now });
    expect([bucket.when(), bucket.when(), bucket.when(), bucket.when()]).toEqual([0, 0, 100, 200]);
    now = 1_000; // refilled
    expect(bucket.when()).toBe(0);
  });

  it("waits as long as the slowest limiter says", () => {
    const now = 0;
    const limiter = new MaxOfRateLimiter(
      new ItemExponentialRateLimiter(5, 1_000),
      new BucketRateLimiter(1, 1, { now: () => now }),
    );
    expect(limiter.when("a")).toBe(5);
    expect(limiter.when("a")).toBe(1_000);
    limiter.forget("a");
    expect(limiter.failures("a")).toBe(0);
  });
});
