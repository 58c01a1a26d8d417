import { decode } from "@msgpack/msgpack";
import { DealerSocket, SubSocket } from "@strata/kit/zmq";
import { afterEach, describe, expect, it } from "vitest";
import { type EngineSim, formatBlockHash, hashTokenBlocks, startEngineSim } from "../src/index.js";
import { post, waitFor } from "./helpers.js";

const within = { timeoutMs: 5_000, intervalMs: 10 };

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

type Decoded = [string, ...unknown[]];

async function start(options: Parameters<typeof startEngineSim>[0] = {}): Promise<EngineSim> {
  const engine = await startEngineSim({
    port: 0,
    host: "127.0.0.1",
    logLevel: "silent",
    timeScale: 0,
    randomOutputMinTokens: 1,
    randomOutputMaxTokens: 1,
    kvEvents: true,
    kvEventsEndpoint: "tcp://127.0.0.1:0",
    kvEventsReplayEndpoint: "tcp://127.0.0.1:0",
    kvEventsTopic: "kv@test@sim-llama",
    ...options,
  });
  closers.push(() => engine.close());
  return engine;
}

async function subscribe(engine: EngineSim) {
  const sub = new SubSocket(`tcp://127.0.0.1:${engine.kvEvents?.port}`, { reconnectMinMs: 20 });
  sub.subscribe("kv@");
  closers.push(() => sub.close());
  await waitFor(() => sub.connected, within);
  // The subscription travels after the handshake; give the PUB a moment to register it.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return sub;
}

/** Reads batches until one contains an event of `type`; returns every event seen on the way. */
async function eventsUntil(sub: SubSocket, type: string): Promise<{ seqs: bigint[]; events: Decoded[] }> {
  const seqs: bigint[] = [];
  const events: Decoded[] = [];
  for (;;) {
    const [topic, seq, payload] = (await sub.receive()).value as Buffer[];
    expect(topic?.toString()).toBe("kv@test@sim-llama");
    seqs.push((seq as Buffer).readBigUInt64BE(0));
    const [ts, batch, rank] = decode(payload as Buffer, { useBigInt64: true }) as [number, Decoded[], number];
    expect(ts).toBeGreaterThan(1.6e9);
    expect(rank).toBe(0);
    events.push(...batch);
    if (batch.some((event) => event[0] === type)) return { seqs, events };
  }
}

const long = (word: string) => Array.from({ length: 60 }, (_, index) => `${word}${index}`).join(" ");

describe("engine-sim KV events", () => {
  it("publishes BlockStored with the engine's chained block hashes after a request", async () => {
    const engine = await start();
    const sub = await subscribe(engine);
    const prompt = long("alpha");
    const response = await post(`${engine.url}/v1/completions`, {
      model: "sim-llama",
      prompt,
      max_tokens: 1,
    });
    expect(response.status).toBe(200);
    const { seqs, events } = await eventsUntil(sub, "BlockStored");
    expect(seqs[0]).toBe(0n);
    const stored = events.find((event) => event[0] === "BlockStored") as Decoded;
    const tokens = engine.tokenizer.encode(prompt, { addSpecialTokens: true });
    const expected = hashTokenBlocks(tokens, { blockSize: 16, seed: "0" });
    const [, hashes, parent, tokenIds, blockSize, loraId, medium] = stored;
    expect((hashes as bigint[]).map(formatBlockHash)).toEqual(expected.map(formatBlockHash));
    expect(parent).toBeNull();
    expect(tokenIds).toEqual(tokens.slice(0, expected.length * 16));
    expect([blockSize, loraId, medium]).toEqual([16, null, "GPU"]);
  });

  it("publishes BlockRemoved when a small cache evicts an earlier prompt's blocks", async () => {
    const engine = await start({ kvCapacityBlocks: 12, maxModelLen: 192 });
    const sub = await subscribe(engine);
    const first = long("alpha");
    await (await post(`${engine.url}/v1/completions`, { prompt: first, max_tokens: 1 })).text();
    await (await post(`${engine.url}/v1/completions`, { prompt: long("omega"), max_tokens: 1 })).text();
    const { events } = await eventsUntil(sub, "BlockRemoved");
    const removed = events.find((event) => event[0] === "BlockRemoved") as Decoded;
    const firstHashes = new Set(
      hashTokenBlocks(engine.tokenizer.encode(first, { addSpecialTokens: true })).map(formatBlockHash),
    );
    expect((removed[1] as bigint[]).length).toBeGreaterThan(0);
    for (const hash of removed[1] as bigint[]) expect(firstHashes.has(formatBlockHash(hash))).toBe(true);
    expect(removed[2]).toBe("GPU");
    expect(engine.model.snapshot().evictedBlocks).toBeGreaterThan(0);
  });

  it("replays buffered batches from a requested sequence, ending with -1", async () => {
    const engine = await start();
    await (await post(`${engine.url}/v1/completions`, { prompt: long("a"), max_tokens: 1 })).text();
    await (await post(`${engine.url}/v1/completions`, { prompt: long("b"), max_tokens: 1 })).text();
    await waitFor(() => (engine.kvEvents?.sequence ?? 0n) >= 2n, within);
    const dealer = new DealerSocket(`tcp://127.0.0.1:${engine.kvEvents?.replayPort}`);
    closers.push(() => dealer.close());
    const start1 = Buffer.alloc(8);
    start1.writeBigUInt64BE(1n);
    dealer.send([Buffer.alloc(0), start1]);
    const seqs: bigint[] = [];
    for (;;) {
      const [delimiter, seq, payload] = (await dealer.receive()).value as Buffer[];
      expect(delimiter?.length).toBe(0);
      const value = (seq as Buffer).readBigInt64BE(0);
      if (value === -1n) {
        expect(payload?.length).toBe(0);
        break;
      }
      seqs.push(value);
    }
    expect(seqs[0]).toBe(1n);
    expect(seqs.at(-1)).toBe((engine.kvEvents?.sequence ?? 0n) - 1n);
  });

  it("encodes the map form when asked (newer vLLM's msgspec default)", async () => {
    const engine = await start({ kvEventsEncoding: "map" });
    const sub = await subscribe(engine);
    await (await post(`${engine.url}/v1/completions`, { prompt: long("m"), max_tokens: 1 })).text();
    const [, , payload] = (await sub.receive()).value as Buffer[];
    const batch = decode(payload as Buffer, { useBigInt64: true }) as { events: Record<string, unknown>[] };
    expect(batch).toMatchObject({ data_parallel_rank: 0 });
    expect(batch.events[0]).toMatchObject({ type: "BlockStored", parent_block_hash: null, medium: "GPU" });
  });

  it("stays off by default", async () => {
    const engine = await startEngineSim({ port: 0, host: "127.0.0.1", logLevel: "silent" });
    closers.push(() => engine.close());
    expect(engine.kvEvents).toBeUndefined();
  });
});
