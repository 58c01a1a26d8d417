/**
 * The router's index following real engine-sims over real ZMTP sockets: what it believes each engine
 * has cached must agree with the engine's own prefix cache, through stores, evictions and gaps.
 */
import { type EngineSim, encodeEventBatch, hashTokenBlocks, startEngineSim } from "@strata/engine-sim";
import { waitFor } from "@strata/kit/testing";
import { PubSocket, RouterSocket } from "@strata/kit/zmq";
import { afterEach, describe, expect, it } from "vitest";
import { BlockIndex, createPrecise, createSimTokenize, KvEventSubscriber } from "../src/kv-events/index.js";
import { createCandidate } from "../src/scoring/candidate.js";

const within = { timeoutMs: 5_000, intervalMs: 10 };

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function engine(id: string, kvCapacityBlocks = 64): Promise<EngineSim> {
  const sim = await startEngineSim({
    port: 0,
    host: "127.0.0.1",
    logLevel: "silent",
    timeScale: 0,
    randomOutputMinTokens: 1,
    randomOutputMaxTokens: 1,
    kvCapacityBlocks,
    maxModelLen: Math.min(4096, kvCapacityBlocks * 16),
    kvEvents: true,
    kvEventsEndpoint: "tcp://127.0.0.1:0",
    kvEventsReplayEndpoint: "tcp://127.0.0.1:0",
    kvEventsTopic: `kv@${id}@sim-llama`,
  });
  closers.push(() => sim.close());
  return sim;
}

function follow(index: BlockIndex, id: string, sim: EngineSim): KvEventSubscriber {
  const subscriber = new KvEventSubscriber(
    id,
    {
      endpoint: `tcp://127.0.0.1:${sim.kvEvents?.port}`,
      replayEndpoint: `tcp://127.0.0.1:${sim.kvEvents?.replayPort}`,
      topic: "kv@",
    },
    { index },
    { reconnectMinMs: 20 },
  );
  closers.push(() => subscriber.close());
  return subscriber;
}

const chat = (system: string, question: string) =>
  `<s><|system|>\n${system}<|end|>\n<|user|>\n${question}<|end|>\n<|assistant|>\n`;
const words = (stem: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${stem}${i}`).join(" ");

async function send(sim: EngineSim, prompt: string): Promise<void> {
  const response = await fetch(`${sim.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    // The router hashes the rendered prompt without an extra BOS, so the engine must not add one.
    body: JSON.stringify({ prompt: [sim.tokenizer.encode(prompt)], max_tokens: 1 }),
  });
  expect(response.status).toBe(200);
  await response.text();
}

describe("router KV-event index following engine-sim", () => {
  it("agrees with the engine's cachedPrefixTokens and routes to the engine holding the prefix", async () => {
    const index = new BlockIndex();
    const tokenize = createSimTokenize();
    const sims = [await engine("a", 24), await engine("b", 24)];
    const subscribers = sims.map((sim, i) => follow(index, `e${i}`, sim));
    await waitFor(() => subscribers.every((subscriber) => subscriber.connected), within);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const docs = ["alpha", "beta", "gamma"].map((stem) => words(stem, 150));
    await send(sims[0] as EngineSim, chat(docs[0] as string, "q1"));
    await send(sims[1] as EngineSim, chat(docs[1] as string, "q1"));
    // A third document on engine a overflows its 24 blocks and evicts part of the first.
    await send(sims[0] as EngineSim, chat(docs[2] as string, "q1"));
    await waitFor(
      () => subscribers.every((subscriber, i) => subscriber.nextSequence === sims[i]?.kvEvents?.sequence),
      within,
    );

    for (const doc of docs) {
      const prompt = chat(doc, "another question");
      const tokens = tokenize(prompt);
      const hashes = hashTokenBlocks(tokens);
      const matches = index.longestPrefixMatch(hashes);
      sims.forEach((sim, i) => {
        const engineSays = sim.model.cachedPrefixTokens(tokens);
        // The engine caps a hit one token short of the prompt; a full-prompt match never happens here.
        expect((matches.get(`e${i}`) ?? 0) * 16).toBe(engineSays);
      });
    }
    expect((sims[0] as EngineSim).model.snapshot().evictedBlocks).toBeGreaterThan(0);

    const strategy = createPrecise({}, { index, tokenize });
    const candidates = ["e0", "e1"].map((id) => createCandidate({ id, model: "sim-llama" }));
    const decision = strategy.decide(
      {
        requestId: "r",
        model: "sim-llama",
        tenantId: "t",
        prompt: chat(docs[1] as string, "follow-up"),
        promptTokens: 0,
      },
      candidates,
    );
    expect(decision.chosen.endpoint.id).toBe("e1");
    expect(decision.scores[1]).toBeGreaterThan(0.5);
    expect(decision.explain().reason).toMatch(/longest cached prefix/);
  });

  it("warms up from the replay buffer when joining an engine that already cached blocks", async () => {
    const index = new BlockIndex();
    const sim = await engine("late");
    await send(sim, chat(words("early", 50), "q"));
    await waitFor(() => (sim.kvEvents?.sequence ?? 0n) > 0n, within);
    const subscriber = follow(index, "late", sim);
    await waitFor(() => subscriber.connected, within);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await send(sim, chat(words("later", 50), "q"));
    await waitFor(() => subscriber.nextSequence === sim.kvEvents?.sequence, within);
    expect(subscriber.stats.replayedBatches).toBeGreaterThan(0);
    expect(index.blockCount("late")).toBe(sim.model.snapshot().cachedBlocks);
  });
});

describe("sequence gaps", () => {
  it("replays the missing batches from the publisher's ROUTER before applying the next one", async () => {
    const pub = await PubSocket.bind("tcp://127.0.0.1:0");
    const router = await RouterSocket.bind("tcp://127.0.0.1:0");
    closers.push(
      () => pub.close(),
      () => router.close(),
    );
    const payloads = [
      [
        {
          type: "BlockStored" as const,
          blockHashes: [1n],
          parentBlockHash: null,
          tokenIds: [],
          blockSize: 16,
          loraId: null,
          medium: "GPU",
          loraName: null,
        },
      ],
      [
        {
          type: "BlockStored" as const,
          blockHashes: [2n],
          parentBlockHash: 1n,
          tokenIds: [],
          blockSize: 16,
          loraId: null,
          medium: "GPU",
          loraName: null,
        },
      ],
      [{ type: "BlockRemoved" as const, blockHashes: [1n], medium: "GPU" }],
    ].map((events) => encodeEventBatch({ ts: 1, events, dataParallelRank: 0 }));
    const seqFrame = (seq: number) => {
      const frame = Buffer.alloc(8);
      frame.writeBigInt64BE(BigInt(seq));
      return frame;
    };
    const requests: bigint[] = [];
    void (async () => {
      for await (const [identity, , start] of router) {
        requests.push((start as Buffer).readBigUInt64BE(0));
        router.send([identity as Buffer, Buffer.alloc(0), seqFrame(1), payloads[1] as Buffer]);
        router.send([identity as Buffer, Buffer.alloc(0), seqFrame(-1), Buffer.alloc(0)]);
      }
    })();
    const index = new BlockIndex();
    const subscriber = new KvEventSubscriber(
      "x",
      {
        endpoint: `tcp://127.0.0.1:${pub.port}`,
        replayEndpoint: `tcp://127.0.0.1:${router.port}`,
        topic: "",
      },
      { index },
    );
    closers.push(() => subscriber.close());
    await waitFor(() => pub.subscriberCount === 1, within);
    pub.send([Buffer.from("t"), seqFrame(0), payloads[0] as Buffer]);
    // seq 1 is "lost"; seq 2 arrives and must trigger a replay of 1 before it is applied.
    pub.send([Buffer.from("t"), seqFrame(2), payloads[2] as Buffer]);
    await waitFor(() => subscriber.nextSequence === 3n, within);
    expect(requests).toEqual([1n]);
    expect(subscriber.stats).toMatchObject({ gaps: 1, replayedBatches: 1, unrepairedGaps: 0, batches: 3 });
    expect(Object.fromEntries(index.longestPrefixMatch([2n]))).toEqual({ x: 1 });
    expect(index.longestPrefixMatch([1n]).size).toBe(0);

    // A publisher restart (seq back to 0) clears what we knew about that engine.
    pub.send([Buffer.from("t"), seqFrame(0), payloads[0] as Buffer]);
    await waitFor(() => subscriber.stats.restarts === 1, within);
    expect(index.blockCount("x")).toBe(1);
  });
});
