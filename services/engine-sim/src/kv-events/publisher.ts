/**
 * engine-sim's KV-event publisher, behaving like vLLM's ZmqEventPublisher: a PUB socket sending
 * [topic, seq (8-byte big-endian, from 0), msgpack EventBatch], the last `bufferSteps` batches
 * kept for replay, and an optional ROUTER replay socket answering [identity, "", start-seq] with
 * [identity, "", seq, payload] for every buffered batch at or after start, then [identity, "", -1, ""].
 *
 * Events are collected as the model reports them and sent as one batch per event-loop turn: the
 * closest thing engine-sim has to vLLM's per-scheduler-step batch, and it keeps one request's
 * stores and the evictions they caused in one message.
 */
import { PubSocket, RouterSocket } from "@strata/kit/zmq";
import type { BlockHash } from "../model/block-hash.js";
import type { EngineListener } from "../model/sequence.js";
import {
  END_OF_REPLAY,
  encodeEventBatch,
  encodeSequence,
  type KvEvent,
  type KvEventEncoding,
  MEDIUM_GPU,
} from "./event-batch.js";

export interface KvEventPublisherOptions {
  /** `tcp://*:5557` binds every interface; port 0 picks a free one. */
  endpoint: string;
  replayEndpoint?: string | undefined;
  topic: string;
  /** Batches kept for replay (vLLM buffer_steps). */
  bufferSteps: number;
  /** Per-subscriber high-water mark (vLLM hwm). */
  highWaterMark: number;
  encoding: KvEventEncoding;
  /** Wall clock in seconds for `ts`; injectable for tests. */
  now?: () => number;
}

export class KvEventPublisher {
  private pending: KvEvent[] = [];
  private flushScheduled = false;
  private nextSeq = 0n;
  /** Ring of [seq, payload]; oldest first. */
  private readonly buffer: { seq: bigint; payload: Buffer }[] = [];
  private closed = false;

  private constructor(
    private readonly options: KvEventPublisherOptions,
    private readonly pub: PubSocket,
    private readonly replay: RouterSocket | undefined,
  ) {
    if (replay) void this.serveReplay(replay);
  }

  static async start(options: KvEventPublisherOptions): Promise<KvEventPublisher> {
    const pub = await PubSocket.bind(options.endpoint, { highWaterMark: options.highWaterMark });
    let replay: RouterSocket | undefined;
    try {
      replay = options.replayEndpoint ? await RouterSocket.bind(options.replayEndpoint) : undefined;
    } catch (error) {
      await pub.close();
      throw error;
    }
    return new KvEventPublisher(options, pub, replay);
  }

  get port(): number {
    return this.pub.port;
  }

  get replayPort(): number | undefined {
    return this.replay?.port;
  }

  get topic(): string {
    return this.options.topic;
  }

  /** Sequence number the next batch will carry. */
  get sequence(): bigint {
    return this.nextSeq;
  }

  /** The engine listener that turns the model's block reports into events. */
  listener(): EngineListener {
    return {
      onBlocksStored: (hashes, parentHash, tokenIds, blockSize) =>
        this.add({
          type: "BlockStored",
          blockHashes: hashes,
          parentBlockHash: parentHash,
          tokenIds,
          blockSize,
          loraId: null,
          medium: MEDIUM_GPU,
          loraName: null,
        }),
      onBlocksRemoved: (hashes: BlockHash[]) =>
        this.add({ type: "BlockRemoved", blockHashes: hashes, medium: MEDIUM_GPU }),
    };
  }

  add(event: KvEvent): void {
    if (this.closed) return;
    this.pending.push(event);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends the pending events now as one batch (also what the per-turn timer does). */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || this.closed) return;
    const events = this.pending;
    this.pending = [];
    const ts = (this.options.now ?? (() => Date.now() / 1000))();
    const payload = encodeEventBatch({ ts, events, dataParallelRank: 0 }, this.options.encoding);
    const seq = this.nextSeq++;
    this.pub.send([Buffer.from(this.options.topic, "utf8"), encodeSequence(seq), payload]);
    this.buffer.push({ seq, payload });
    if (this.buffer.length > this.options.bufferSteps) this.buffer.shift();
  }

  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    await Promise.all([this.pub.close(), this.replay?.close()]);
  }

  private async serveReplay(replay: RouterSocket): Promise<void> {
    for await (const frames of replay) {
      // vLLM accepts exactly [identity, "", start-seq] (what a REQ or a DEALER sending ["", seq] produces).
      const [identity, delimiter, start] = frames;
      if (frames.length !== 3 || !identity || delimiter?.length !== 0 || start?.length !== 8) continue;
      const from = start.readBigUInt64BE(0);
      for (const { seq, payload } of this.buffer) {
        if (seq >= from) replay.send([identity, Buffer.alloc(0), encodeSequence(seq), payload]);
      }
      replay.send([identity, Buffer.alloc(0), END_OF_REPLAY, Buffer.alloc(0)]);
    }
  }
}
