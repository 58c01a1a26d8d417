import { describe, expect, it } from "vitest";
import { EngineModel, type EngineModelConfig } from "../src/model/scheduler.js";
import type { EngineListener, Sequence, SequenceRequest } from "../src/model/sequence.js";

const BASE: Partial<EngineModelConfig> = {
  blockSize: 4,
  kvCapacityBlocks: 64,
  maxNumSeqs: 8,
  prefillMsPerToken: 1,
  prefillOverheadMs: 10,
  decodeMsPerToken: 5,
  decodeBatchPenalty: 0,
};

let counter = 0;
function request(promptTokens: number[], outputTokens: number, id = `seq-${++counter}`): SequenceRequest {
  return {
    id,
    promptTokenIds: promptTokens,
    outputTokenIds: Array.from({ length: outputTokens }, (_, index) => 50_000 + index),
    finishReason: "length",
  };
}
const prompt = (length: number, offset = 0) => Array.from({ length }, (_, index) => 100 + offset + index);

/** Runs the model in virtual time, recording every event. */
function harness(config: Partial<EngineModelConfig> = {}) {
  const events: Array<{ type: string; id: string; at: number; index?: number; cached?: number }> = [];
  const listener: EngineListener = {
    onAdmitted: (sequence, at, cached) =>
      events.push({ type: "admitted", id: sequence.request.id, at, cached }),
    onToken: (sequence, index, at) => events.push({ type: "token", id: sequence.request.id, at, index }),
    onPreempted: (sequence, at) => events.push({ type: "preempted", id: sequence.request.id, at }),
    onFinished: (sequence, at, outcome) => events.push({ type: outcome, id: sequence.request.id, at }),
  };
  const model = new EngineModel({ ...BASE, ...config }, listener);
  const runUntilIdle = () => {
    for (let next = model.nextEventTime(); next !== undefined; next = model.nextEventTime())
      model.advanceTo(next);
  };
  const firstToken = (id: string) => events.find((event) => event.type === "token" && event.id === id)?.at;
  return { model, events, runUntilIdle, firstToken };
}

describe("EngineModel timing", () => {
  it("gives TTFT = overhead + prompt tokens × prefill rate, then decodes at the decode rate", () => {
    const { model, events, runUntilIdle } = harness();
    model.submit(request(prompt(20), 3, "a"), 0);
    runUntilIdle();
    const tokens = events.filter((event) => event.type === "token").map((event) => event.at);
    expect(tokens).toEqual([30, 35, 40]);
    expect(events.at(-1)).toMatchObject({ type: "completed", at: 40 });
  });

  it("serves a repeated prompt from the prefix cache: fewer prefill tokens, cached_tokens reported", () => {
    const { model, events, runUntilIdle, firstToken } = harness();
    model.submit(request(prompt(20), 2, "first"), 0);
    runUntilIdle();
    model.submit(request(prompt(20), 2, "second"), 1000);
    runUntilIdle();
    // 20 tokens = 5 full blocks, but the last token is always recomputed: 4 blocks (16 tokens) hit.
    expect(events.find((event) => event.id === "second" && event.type === "admitted")?.cached).toBe(16);
    expect(firstToken("second")).toBe(1000 + 10 + 4);
    expect(model.cachedPrefixTokens(prompt(20))).toBe(16);
    expect(model.cachedPrefixTokens(prompt(20, 1))).toBe(0);
  });

  it("makes a hit on a block still being prefilled wait for it", () => {
    const { model, runUntilIdle, firstToken } = harness({ prefillOverheadMs: 0 });
    model.submit(request(prompt(40), 1, "leader"), 0);
    model.submit(request(prompt(40), 1, "follower"), 1);
    runUntilIdle();
    expect(firstToken("leader")).toBe(40);
    expect(firstToken("follower")).toBeGreaterThanOrEqual(40);
  });

  it("slows decode as the batch grows", () => {
    const { model, events, runUntilIdle } = harness({
      decodeBatchPenalty: 0.5,
      prefillOverheadMs: 0,
      prefillMsPerToken: 0,
    });
    model.submit(request(prompt(4), 3, "x"), 0);
    model.submit(request(prompt(4, 10), 3, "y"), 0);
    runUntilIdle();
    const xTokens = events
      .filter((event) => event.type === "token" && event.id === "x")
      .map((event) => event.at);
    // Two running: 5 ms × (1 + 0.5 × 1) = 7.5 ms per token.
    expect(xTokens).toEqual([0, 7.5, 15]);
  });
});

describe("EngineModel admission", () => {
  it("queues FIFO beyond maxNumSeqs and admits when a sequence finishes", () => {
    const { model, runUntilIdle, firstToken } = harness({ maxNumSeqs: 1 });
    model.submit(request(prompt(8), 2, "one"), 0);
    model.submit(request(prompt(8, 50), 2, "two"), 0);
    expect(model.snapshot()).toMatchObject({ running: 1, waiting: 1 });
    runUntilIdle();
    // "one": first token at 18, done at 23; "two" is admitted at 23.
    expect(firstToken("two")).toBe(23 + 18);
    expect(model.snapshot()).toMatchObject({ running: 0, waiting: 0 });
  });

  it("admits only when enough KV blocks are free, without skipping the head of the queue", () => {
    const { model, runUntilIdle, events } = harness({ kvCapacityBlocks: 6 });
    model.submit(request(prompt(16), 1, "big"), 0); // 4 blocks
    model.submit(request(prompt(12, 100), 1, "blocked"), 0); // needs 3, only 2 free
    model.submit(request(prompt(4, 200), 1, "small"), 0); // would fit, but FIFO
    expect(model.snapshot()).toMatchObject({ running: 1, waiting: 2, usedBlocks: 4 });
    runUntilIdle();
    const admissions = events.filter((event) => event.type === "admitted").map((event) => event.id);
    expect(admissions).toEqual(["big", "blocked", "small"]);
  });

  it("grows blocks during decode and preempts the newest sequence when none are free", () => {
    const { model, runUntilIdle, events } = harness({ kvCapacityBlocks: 4, prefillOverheadMs: 0 });
    model.submit(request(prompt(4), 6, "old"), 0); // 1 block, grows to 3
    model.submit(request(prompt(7, 100), 6, "new"), 0); // 2 blocks, grows to 4
    runUntilIdle();
    expect(events.some((event) => event.type === "preempted" && event.id === "new")).toBe(true);
    expect(model.snapshot().preemptions).toBeGreaterThan(0);
    const completed = events.filter((event) => event.type === "completed").map((event) => event.id);
    expect(completed.sort()).toEqual(["new", "old"]);
    const newTokens = events
      .filter((event) => event.type === "token" && event.id === "new")
      .map((event) => event.index);
    expect(newTokens).toEqual([0, 1, 2, 3, 4, 5]);
    expect(model.snapshot().usedBlocks).toBe(0);
  });

  it("frees blocks when a running sequence is aborted and admits the next one", () => {
    const { model, events } = harness({ kvCapacityBlocks: 4 });
    model.submit(request(prompt(16), 100, "hog"), 0);
    model.submit(request(prompt(8, 100), 1, "next"), 0);
    expect(model.snapshot()).toMatchObject({ running: 1, waiting: 1, usedBlocks: 4 });
    expect(model.abort("hog", 5)).toBe(true);
    expect(events.find((event) => event.type === "aborted")?.id).toBe("hog");
    expect(model.snapshot()).toMatchObject({ running: 1, waiting: 0, usedBlocks: 2 });
    expect(model.abort("hog", 6)).toBe(false);
  });

  it("never admits a waiting sequence's tokens into a pinned block", () => {
    const { model } = harness({ kvCapacityBlocks: 8 });
    const sequences: Sequence[] = [];
    for (let index = 0; index < 4; index++) sequences.push(model.submit(request(prompt(8), 4), 0));
    const ids = new Set(sequences.flatMap((sequence) => sequence.blocks.map((block) => block.id)));
    // Four sequences sharing one 8-token prompt: block 0 is shared, block 1 is recomputed per sequence.
    expect(sequences.map((sequence) => sequence.cachedTokens)).toEqual([0, 4, 4, 4]);
    expect(ids.size).toBe(5);
  });
});
