import { describe, expect, it } from "vitest";
import { MemoryLruStore } from "../../src/cache/memory-lru-store.js";
import { answerBytes, decodeAnswer, encodeAnswer, type StoredAnswer } from "../../src/cache/stored-answer.js";

const answer = (text: string): StoredAnswer => ({
  operation: "chat.completions",
  body: Buffer.from(JSON.stringify({ text })),
  servedModel: "m",
  promptTokens: 1,
  completionTokens: 2,
  storedAt: 0,
});

describe("the in-process exact store", () => {
  it("expires entries by the injected clock", async () => {
    let now = 1_000;
    const store = new MemoryLruStore({ maxBytes: 1 << 20, now: () => now });
    await store.set("ten_a:k", answer("x"), 5_000);
    now += 4_999;
    expect((await store.get("ten_a:k"))?.body.toString()).toBe('{"text":"x"}');
    now += 1;
    expect(await store.get("ten_a:k")).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
  });

  it("evicts the least recently used answers once past its byte bound", async () => {
    const one = answerBytes(answer("a")) + "k1".length * 2;
    const store = new MemoryLruStore({ maxBytes: one * 3 });
    await store.set("k1", answer("a"), 60_000);
    await store.set("k2", answer("b"), 60_000);
    await store.set("k3", answer("c"), 60_000);
    await store.get("k1"); // k2 is now the least recently used
    await store.set("k4", answer("d"), 60_000);
    expect(await store.get("k2")).toBeUndefined();
    for (const key of ["k1", "k3", "k4"]) expect(await store.get(key), key).toBeDefined();
    expect(store.bytes).toBeLessThanOrEqual(one * 3);
  });

  it("refuses an answer larger than the whole store and replaces a key in place", async () => {
    const store = new MemoryLruStore({ maxBytes: 200 });
    await store.set("big", answer("x".repeat(500)), 60_000);
    expect(await store.get("big")).toBeUndefined();
    await store.set("k", answer("1"), 60_000);
    const before = store.bytes;
    await store.set("k", answer("2"), 60_000);
    expect(store.bytes).toBe(before);
    expect((await store.get("k"))?.body.toString()).toBe('{"text":"2"}');
  });
});

describe("stored answer encoding", () => {
  it("round-trips and refuses bytes it did not write", () => {
    const original = answer("héllo\nworld");
    expect(decodeAnswer(encodeAnswer(original))).toEqual(original);
    expect(decodeAnswer(Buffer.from("no header"))).toBeUndefined();
    expect(decodeAnswer(Buffer.from('{"v":2}\n{}'))).toBeUndefined();
  });
});
